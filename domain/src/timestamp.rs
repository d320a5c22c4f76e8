//! UTC instants with microsecond precision, and the three text forms the reference uses.
//!
//! The reference daemon stores most timestamps with Python's `isoformat()`
//! (`2026-11-28T21:56:30.667176+00:00`) and serialises API fields with Pydantic
//! (`2026-11-28T21:56:47.593165Z`); both leave the fraction out when it is zero.
//! Stored rows of either form must be read back, so parsing accepts any RFC 3339 offset.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::validation::{ValidationError, excerpt};

/// A point in time, in UTC, truncated to whole microseconds (the precision of the reference).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// Whole seconds since the Unix epoch (negative before 1970).
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The instant `seconds` after the Unix epoch, if it is representable.
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self)
    }

    /// This instant moved by `seconds` (negative moves back), saturating at the representable range.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        match self.0.checked_add(Duration::seconds(seconds)) {
            Some(moved) => Self(moved),
            None => self,
        }
    }

    fn from_datetime(value: OffsetDateTime) -> Self {
        let utc = value.to_offset(UtcOffset::UTC);
        let micros = utc.microsecond();
        // Truncation cannot fail: the nanosecond value is always in range.
        let truncated = utc.replace_nanosecond(micros * 1_000).unwrap_or(utc);
        Self(truncated)
    }

    /// Parses RFC 3339 / ISO 8601 with an explicit offset (`Z`, `+00:00`, or any other offset,
    /// converted to UTC). Fractions finer than a microsecond are truncated.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Self::from_datetime)
            .map_err(|_| ValidationError::Timestamp(excerpt(text)))
    }

    fn write_date_time(self, out: &mut String, always_fraction: bool) {
        use fmt::Write as _;
        let dt = self.0;
        // Writing into a String cannot fail.
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        );
        let micros = dt.microsecond();
        if always_fraction || micros != 0 {
            let _ = write!(out, ".{micros:06}");
        }
    }

    /// Python `datetime.isoformat()` of a UTC value: `2026-11-28T21:56:30.667176+00:00`,
    /// without the fraction when it is zero. This is how the reference stores row timestamps.
    pub fn to_isoformat(self) -> String {
        let mut out = String::with_capacity(32);
        self.write_date_time(&mut out, false);
        out.push_str("+00:00");
        out
    }

    /// Pydantic's JSON form: `2026-11-28T21:56:47.593165Z`, without the fraction when it is zero.
    /// This is how the reference puts timestamps on the wire.
    pub fn to_json_form(self) -> String {
        let mut out = String::with_capacity(27);
        self.write_date_time(&mut out, false);
        out.push('Z');
        out
    }

    /// A fixed-width form (`2026-11-28T21:56:47.000000Z`) whose text order is time order.
    ///
    /// Used where rows are ordered by comparing the stored text (audit events), which the
    /// reference's variable-width form gets wrong when the fraction is zero.
    pub fn to_sortable(self) -> String {
        let mut out = String::with_capacity(27);
        self.write_date_time(&mut out, true);
        out.push('Z');
        out
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_form())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_form())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_json_form())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_reference_forms_as_the_same_instant() {
        let iso = Timestamp::parse("2026-11-28T21:56:30.667176+00:00").expect("isoformat");
        let json = Timestamp::parse("2026-11-28T21:56:30.667176Z").expect("pydantic form");
        assert_eq!(iso, json);
        assert_eq!(iso.to_isoformat(), "2026-11-28T21:56:30.667176+00:00");
        assert_eq!(iso.to_json_form(), "2026-11-28T21:56:30.667176Z");
    }

    #[test]
    fn zero_fraction_is_left_out_like_python_but_kept_in_sortable_form() {
        let t = Timestamp::parse("2026-11-28T21:56:30+00:00").expect("no fraction");
        assert_eq!(t.to_isoformat(), "2026-11-28T21:56:30+00:00");
        assert_eq!(t.to_json_form(), "2026-11-28T21:56:30Z");
        assert_eq!(t.to_sortable(), "2026-11-28T21:56:30.000000Z");
    }

    #[test]
    fn other_offsets_are_converted_to_utc_and_nanoseconds_truncated() {
        let t = Timestamp::parse("2026-11-28T23:56:30.1234569+02:00").expect("offset");
        assert_eq!(t.to_isoformat(), "2026-11-28T21:56:30.123456+00:00");
    }

    #[test]
    fn sortable_text_order_is_time_order_where_python_form_is_not() {
        let whole = Timestamp::parse("2026-11-28T21:56:30Z").expect("whole");
        let later = Timestamp::parse("2026-11-28T21:56:30.5Z").expect("later");
        assert!(whole < later);
        assert!(whole.to_sortable() < later.to_sortable());
        // The reference form sorts these two the wrong way round ('Z' > '.').
        assert!(whole.to_json_form() > later.to_json_form());
    }

    #[test]
    fn rejects_text_without_offset_or_garbage() {
        assert!(Timestamp::parse("2026-11-28T21:56:30").is_err());
        assert!(Timestamp::parse("yesterday").is_err());
        assert!(Timestamp::parse("").is_err());
    }

    #[test]
    fn unix_seconds_round_trip() {
        let t = Timestamp::from_unix_seconds(1_800_000_000).expect("in range");
        assert_eq!(t.unix_seconds(), 1_800_000_000);
        assert_eq!(t.plus_seconds(60).unix_seconds(), 1_800_000_060);
    }
}
