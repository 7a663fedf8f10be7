//! Timestamps: RFC 3339 UTC with `Z` and microseconds, so the text sorts as the time does.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    pub fn from_unix(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self)
    }

    pub fn unix(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Milliseconds since the epoch (0 before it).
    pub fn unix_millis(&self) -> u64 {
        u64::try_from(self.0.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
    }

    /// Whether this is a whole second (no fraction).
    pub fn is_whole_second(&self) -> bool {
        self.0.nanosecond() == 0
    }

    pub fn plus(&self, by: Duration) -> Self {
        Self(self.0 + by)
    }

    pub fn minus(&self, by: Duration) -> Self {
        Self(self.0 - by)
    }

    pub fn parse(text: &str) -> Option<Self> {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| Self(t.to_offset(time::UtcOffset::UTC)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Formatting a UTC time with a fixed description cannot fail.
        let text = self.0.format(FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 timestamp"))
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_utc_with_z_and_round_trips() {
        let t = Timestamp::from_unix(1_700_000_000).unwrap();
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.000000Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    }

    #[test]
    fn text_order_is_time_order() {
        let a = Timestamp::from_unix(9).unwrap().to_string();
        let b = Timestamp::from_unix(10).unwrap().to_string();
        assert!(a < b);
    }
}
