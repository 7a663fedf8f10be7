//! Domain values parsed at the edge: past the parser, a `Slug` is valid by construction.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validation::{self, Problem};

pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// A display name: 1..=200 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        validation::text(value, 1, 200).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A URL-safe identifier: lower-case words of letters and digits joined by single hyphens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        let raw = validation::string(value)?;
        Self::parse_str(raw)
    }

    pub fn parse_str(raw: &str) -> Result<Self, Problem> {
        let len = raw.chars().count();
        if len < 2 {
            return Err(Problem::new(
                "string_too_short",
                "String should have at least 2 characters",
            ));
        }
        if len > 63 {
            return Err(Problem::new(
                "string_too_long",
                "String should have at most 63 characters",
            ));
        }
        let well_formed = raw.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !well_formed {
            return Err(Problem::new(
                "string_pattern_mismatch",
                format!("String should match pattern '{SLUG_PATTERN}'"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, lower-cased (emails compare case-insensitively everywhere in ScaiKey).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &Value) -> Result<Self, Problem> {
        Self::parse_str(validation::string(value)?)
    }

    pub fn parse_str(raw: &str) -> Result<Self, Problem> {
        let email = raw.trim().to_lowercase();
        let invalid = |why: &str| {
            Problem::new(
                "value_error",
                format!("value is not a valid email address: {why}"),
            )
        };
        if email.len() > 254 {
            return Err(invalid("it is longer than 254 characters"));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(invalid("an email address must have an @-sign"));
        };
        if local.is_empty() || local.len() > 64 {
            return Err(invalid("the part before the @-sign is empty or too long"));
        }
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_ok {
            return Err(invalid(
                "the part after the @-sign is not a valid domain name",
            ));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control())
            || local.contains('@')
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return Err(invalid("the part before the @-sign is not valid"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lifecycle of a partner or tenant. `Deleted` is reached only through DELETE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Active,
    Suspended,
    Deleted,
}

impl Status {
    pub const SETTABLE: [(&'static str, Status); 2] =
        [("ACTIVE", Status::Active), ("SUSPENDED", Status::Suspended)];

    /// What a client may set (`DELETED` only via DELETE).
    pub fn parse_settable(value: &Value) -> Result<Self, Problem> {
        validation::one_of(value, &Self::SETTABLE)
    }

    /// What a list may filter on.
    pub fn parse_filter(value: &Value) -> Result<Self, Problem> {
        validation::one_of(value, &Self::SETTABLE)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::Deleted => "DELETED",
        }
    }
}

/// The API's view: a client sets, filters on and sees only `ACTIVE` and `SUSPENDED` (a deleted
/// resource answers 404), so the schema names only those.
impl utoipa::PartialSchema for Status {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(Self::SETTABLE.map(|(name, _)| name)))
            .into()
    }
}

impl utoipa::ToSchema for Status {}

/// A partner limit: an integer ≥ 0, or unlimited.
pub fn parse_limit(value: &Value) -> Result<u32, Problem> {
    validation::integer_in(value, 0, i64::from(u32::MAX)).map(|n| n as u32)
}

/// A free-form JSON object of at most `max_bytes` once serialised.
pub fn parse_json_object(
    value: &Value,
    max_bytes: usize,
) -> Result<serde_json::Map<String, Value>, Problem> {
    let map = validation::object(value)?;
    let size = serde_json::to_vec(map)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > max_bytes {
        return Err(Problem::value_error(format!(
            "object is {size} bytes once serialised; at most {max_bytes} are allowed"
        )));
    }
    for (key, v) in map {
        within_depth(key, v, 1)?;
    }
    Ok(map.clone())
}

/// The OpenAPI schema of a free-form object as `parse_json_object` accepts it (schema only).
pub struct JsonObject;

impl utoipa::PartialSchema for JsonObject {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(format!(
                "A free-form JSON object: any keys (the empty key and any unicode included), any \
                 JSON values, at most {MAX_JSON_DEPTH} levels of nesting. Stored and returned \
                 exactly as sent."
            )))
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl utoipa::ToSchema for JsonObject {}

/// How deep a free-form object may nest (the object itself is level 1). Stored as JSON text
/// (`store::FREE_FORM`), it is bounded by this rule only, not by DynamoDB's 32 levels.
pub const MAX_JSON_DEPTH: usize = 32;

/// The depth rule, as a 422 naming the place where the object goes too deep.
fn within_depth(key: &str, value: &Value, depth: usize) -> Result<(), Problem> {
    let at = |p: Problem| p.under(key);
    if depth > MAX_JSON_DEPTH {
        return Err(at(Problem::value_error(format!(
            "nested more than {MAX_JSON_DEPTH} levels deep"
        ))));
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                within_depth(k, v, depth + 1).map_err(at)?;
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                within_depth(&i.to_string(), v, depth + 1).map_err(at)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_integral_float_is_an_integer() {
        assert_eq!(parse_limit(&json!(5.0)), Ok(5));
        assert_eq!(parse_limit(&json!(5.5)).unwrap_err().kind, "int_from_float");
        assert_eq!(parse_limit(&json!("5")), Ok(5));
        assert_eq!(parse_limit(&json!(true)).unwrap_err().kind, "int_type");
    }

    #[test]
    fn free_form_objects_take_any_json_up_to_the_depth_limit() {
        let ok = json!({"": {"": [1, 0.5, 0, -1e300, 1e-320, ""]}, "ключ 🔑": null, "n": 123456789012345678_u64});
        assert_eq!(
            parse_json_object(&ok, 1024).unwrap(),
            *ok.as_object().unwrap()
        );
        let deep = (0..MAX_JSON_DEPTH).fold(json!(1), |v, _| json!({ "a": v }));
        assert!(parse_json_object(&deep, 1024).is_ok());
        let problem = parse_json_object(&json!({ "a": deep }), 1024).unwrap_err();
        assert_eq!(problem.kind, "value_error");
        assert_eq!(
            json!(problem.below),
            Value::Array(vec![json!("a"); MAX_JSON_DEPTH + 1])
        );
    }

    #[test]
    fn slugs_follow_the_pattern() {
        for ok in ["ab", "acme", "acme-corp", "a1-b2-c3", &"a".repeat(63)] {
            assert!(Slug::parse(&json!(ok)).is_ok(), "{ok}");
        }
        for (bad, kind) in [
            ("a", "string_too_short"),
            (&"a".repeat(64) as &str, "string_too_long"),
            ("Acme", "string_pattern_mismatch"),
            ("acme--corp", "string_pattern_mismatch"),
            ("-acme", "string_pattern_mismatch"),
            ("acme-", "string_pattern_mismatch"),
            ("acme_corp", "string_pattern_mismatch"),
            ("ac me", "string_pattern_mismatch"),
        ] {
            assert_eq!(Slug::parse(&json!(bad)).unwrap_err().kind, kind, "{bad}");
        }
        assert_eq!(Slug::parse(&json!(5)).unwrap_err().kind, "string_type");
    }

    #[test]
    fn emails_are_checked_and_lower_cased() {
        assert_eq!(
            Email::parse(&json!(" Ops@Example.COM ")).unwrap().as_str(),
            "ops@example.com"
        );
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@-x.com",
            "a..b@x.com",
        ] {
            assert!(Email::parse(&json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_objects_are_size_limited() {
        assert!(parse_json_object(&json!({"a": "x".repeat(100)}), 64).is_err());
        assert!(parse_json_object(&json!({"a": 1}), 64).is_ok());
        assert_eq!(
            parse_json_object(&json!([1]), 64).unwrap_err().kind,
            "dict_type"
        );
    }

    #[test]
    fn deleted_cannot_be_set() {
        assert_eq!(
            Status::parse_settable(&json!("DELETED")).unwrap_err().kind,
            "enum"
        );
        assert_eq!(
            Status::parse_settable(&json!("SUSPENDED")).unwrap(),
            Status::Suspended
        );
    }
}
