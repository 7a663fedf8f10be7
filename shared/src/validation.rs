//! Reading request bodies and query strings into domain values, collecting every problem with
//! its FastAPI-shaped location so one 422 names them all.

use serde_json::{Map, Value, json};

use crate::error::{Error, FieldProblem};

/// Why one value was refused; the reader adds where it was.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub kind: &'static str,
    pub msg: String,
    /// Location below the field itself (keys inside a JSON object value).
    pub below: Vec<Value>,
}

impl Problem {
    pub fn new(kind: &'static str, msg: impl Into<String>) -> Self {
        Self {
            kind,
            msg: msg.into(),
            below: Vec::new(),
        }
    }

    pub fn under(mut self, key: &str) -> Self {
        self.below.insert(0, json!(key));
        self
    }

    pub fn value_error(msg: impl std::fmt::Display) -> Self {
        Self::new("value_error", format!("Value error, {msg}"))
    }

    pub fn string_type() -> Self {
        Self::new("string_type", "Input should be a valid string")
    }
}

/// What a PATCH says about one field.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    /// Absent from the body: leave as it is.
    #[default]
    Keep,
    /// `null`: clear the (nullable) field.
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }
}

/// A field that cannot change, as a PATCH sent it ([`Fields::fixed`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Fixed<T> {
    name: &'static str,
    msg: &'static str,
    sent: Patch<T>,
}

impl<T> Default for Fixed<T> {
    fn default() -> Self {
        Self {
            name: "",
            msg: "",
            sent: Patch::Keep,
        }
    }
}

impl<T: PartialEq> Fixed<T> {
    /// The problem of a value other than `current` (`null` where the resource has none);
    /// `None` when the field was left out or sent unchanged.
    pub fn changed(&self, current: Option<&T>) -> Option<FieldProblem> {
        let unchanged = match &self.sent {
            Patch::Keep => true,
            Patch::Clear => current.is_none(),
            Patch::Set(value) => current == Some(value),
        };
        (!unchanged).then(|| {
            FieldProblem::new(
                vec![json!("body"), json!(self.name)],
                "value_error",
                format!("Value error, {}", self.msg),
            )
        })
    }
}

/// The fields of a PATCH that cannot change, compared with the resource as read: one 422
/// naming every one sent with another value.
pub fn unchanged(checks: impl IntoIterator<Item = Option<FieldProblem>>) -> Result<(), Error> {
    let problems: Vec<FieldProblem> = checks.into_iter().flatten().collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(problems))
    }
}

/// A JSON object being read field by field.
pub struct Fields {
    origin: &'static str,
    map: Map<String, Value>,
    problems: Vec<FieldProblem>,
}

impl Fields {
    /// A request body, already parsed as JSON.
    pub fn body(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(map) => Ok(Self {
                origin: "body",
                map,
                problems: Vec::new(),
            }),
            _ => Err(Error::Validation(vec![FieldProblem::new(
                vec![json!("body")],
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
            )])),
        }
    }

    /// A query string's parameters (the last value of a repeated key wins). An empty value is
    /// no value: clients that always send their filter fields send `?search=&status=`, and
    /// mean no filter.
    pub fn query(pairs: Vec<(String, String)>) -> Self {
        let map = pairs
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Self {
            origin: "query",
            map,
            problems: Vec::new(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Whether the field is present with a value other than `null`.
    pub fn given(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    fn record(&mut self, name: &str, problem: Problem) {
        let mut loc = vec![json!(self.origin), json!(name)];
        loc.extend(problem.below);
        self.problems
            .push(FieldProblem::new(loc, problem.kind, problem.msg));
    }

    /// A field that must be present and non-null.
    pub fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, Problem>,
    ) -> Option<T> {
        match self.map.get(name) {
            None | Some(Value::Null) => {
                self.record(name, Problem::new("missing", "Field required"));
                None
            }
            Some(value) => match parse(value) {
                Ok(parsed) => Some(parsed),
                Err(problem) => {
                    self.record(name, problem);
                    None
                }
            },
        }
    }

    /// A field that may be absent or null (both read as `None`).
    pub fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, Problem>,
    ) -> Option<T> {
        match self.patch(name, parse) {
            Patch::Set(value) => Some(value),
            Patch::Keep | Patch::Clear => None,
        }
    }

    /// A field of a partial update: absent keeps, `null` clears, a value sets.
    pub fn patch<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, Problem>,
    ) -> Patch<T> {
        match self.map.get(name) {
            None => Patch::Keep,
            Some(Value::Null) => Patch::Clear,
            Some(value) => match parse(value) {
                Ok(parsed) => Patch::Set(parsed),
                Err(problem) => {
                    self.record(name, problem);
                    Patch::Keep
                }
            },
        }
    }

    /// A PATCH field that is not nullable: `null` is refused like a wrong type would be.
    pub fn patch_required<T>(
        &mut self,
        name: &str,
        parse: impl Fn(&Value) -> Result<T, Problem>,
    ) -> Option<T> {
        match self.patch(name, &parse) {
            Patch::Set(value) => Some(value),
            Patch::Keep => None,
            Patch::Clear => {
                // Reuse the parser's own message for a value of the wrong type.
                let problem = parse(&Value::Null)
                    .err()
                    .unwrap_or_else(Problem::string_type);
                self.record(name, problem);
                None
            }
        }
    }

    /// Refuses a field this request must not carry.
    pub fn forbid(&mut self, name: &str, msg: &str) {
        if self.map.contains_key(name) {
            self.record(name, Problem::new("extra_forbidden", msg));
        }
    }

    /// Refuses a value of a field this request must not carry; `null` means the field is left
    /// out (SPEC §2), which generated clients send for every unset field.
    pub fn forbid_value(&mut self, name: &str, msg: &str) {
        if self.given(name) {
            self.record(name, Problem::new("extra_forbidden", msg));
        }
    }

    /// A field a PATCH may carry although it cannot change, so a client may send back what it
    /// read (SPEC §2): parsed now, compared with the resource once read ([`Fixed::changed`]).
    pub fn fixed<T>(
        &mut self,
        name: &'static str,
        msg: &'static str,
        parse: impl FnOnce(&Value) -> Result<T, Problem>,
    ) -> Fixed<T> {
        Fixed {
            name,
            msg,
            sent: self.patch(name, parse),
        }
    }

    /// Records a problem found by a rule across fields.
    pub fn reject(&mut self, name: &str, problem: Problem) {
        self.record(name, problem);
    }

    /// Every problem at once, or the value built from the parsed fields.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Error> {
        if !self.problems.is_empty() {
            return Err(Error::Validation(self.problems));
        }
        build().ok_or_else(|| Error::internal("a required field was missing without a problem"))
    }

    pub fn check(self) -> Result<(), Error> {
        self.finish(|| Some(()))
    }
}

/// The bytes of a body that may be absent (an action whose every field is optional): a JSON
/// `null`, what clients send for "no body", reads as none.
pub fn absent_if_null(bytes: &[u8]) -> &[u8] {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Null) => &[],
        _ => bytes,
    }
}

/// Declares the OpenAPI schema (a named component) of a string one of the parsers here accepts,
/// so a client generated from the document, or a fuzzer, sends what the API takes: `pattern`
/// (ECMA-262, written with `^…$`) describes a subset of what the parser accepts — every string
/// it matches is accepted — and the description says the rest.
#[macro_export]
macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident, pattern = $pattern:expr, max_length = $max:expr, description = $description:expr $(,)?) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some($pattern))
                    .max_length(Some($max))
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

// ---- value parsers, each `&Value -> Result<T, Problem>` -------------------------------------

/// A tenant id in a body or query.
pub fn tenant_ref(value: &Value) -> Result<crate::ids::TenantId, Problem> {
    crate::ids::TenantId::parse(string(value)?).map_err(|_| Problem::value_error("not a tenant id"))
}

/// A user id in a body or query.
pub fn user_ref(value: &Value) -> Result<crate::ids::UserId, Problem> {
    crate::ids::UserId::parse(string(value)?).map_err(|_| Problem::value_error("not a user id"))
}

/// A group id in a body or query.
pub fn group_ref(value: &Value) -> Result<crate::ids::GroupId, Problem> {
    crate::ids::GroupId::parse(string(value)?).map_err(|_| Problem::value_error("not a group id"))
}

/// A partner id in a body or query.
pub fn partner_ref(value: &Value) -> Result<crate::ids::PartnerId, Problem> {
    crate::ids::PartnerId::parse(string(value)?)
        .map_err(|_| Problem::value_error("not a partner id"))
}

pub fn string(value: &Value) -> Result<&str, Problem> {
    value.as_str().ok_or_else(Problem::string_type)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A string of `min..=max` characters after trimming surrounding whitespace.
pub fn text(value: &Value, min: usize, max: usize) -> Result<String, Problem> {
    let s = string(value)?.trim();
    let len = s.chars().count();
    if len < min {
        return Err(Problem::new(
            "string_too_short",
            format!("String should have at least {}", plural(min, "character")),
        ));
    }
    if len > max {
        return Err(Problem::new(
            "string_too_long",
            format!("String should have at most {}", plural(max, "character")),
        ));
    }
    Ok(s.to_owned())
}

pub fn integer(value: &Value) -> Result<i64, Problem> {
    match value {
        // JSON has one number type: `5.0` is the integer 5 (JSON Schema says so, and so does
        // pydantic, the reference), `5.5` is not an integer.
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| {
                if n.as_f64().is_some_and(|f| f.fract() != 0.0) {
                    Problem::new(
                        "int_from_float",
                        "Input should be a valid integer, got a number with a fractional part",
                    )
                } else {
                    int_type()
                }
            }),
        // Query strings arrive as text.
        Value::String(s) => s.trim().parse::<i64>().map_err(|_| {
            Problem::new(
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
            )
        }),
        _ => Err(int_type()),
    }
}

fn int_type() -> Problem {
    Problem::new("int_type", "Input should be a valid integer")
}

pub fn integer_in(value: &Value, min: i64, max: i64) -> Result<i64, Problem> {
    let n = integer(value)?;
    if n < min {
        return Err(Problem::new(
            "greater_than_equal",
            format!("Input should be greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(Problem::new(
            "less_than_equal",
            format!("Input should be less than or equal to {max}"),
        ));
    }
    Ok(n)
}

/// A boolean, in a body or a query string: JSON `true`/`false`, or the text clients send for
/// one — `true`/`false`, `True`/`False` (Python's `str(True)`), `1`/`0`. Anything else is
/// refused (a query string's `yes` or `maybe` too: no guessing what a filter meant).
pub fn boolean(value: &Value) -> Result<bool, Problem> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.as_str() {
            "true" | "True" | "1" => Ok(true),
            "false" | "False" | "0" => Ok(false),
            _ => Err(Problem::new(
                "bool_parsing",
                "Input should be a valid boolean, unable to interpret input",
            )),
        },
        _ => Err(Problem::new("bool_type", "Input should be a valid boolean")),
    }
}

pub fn object(value: &Value) -> Result<&Map<String, Value>, Problem> {
    value
        .as_object()
        .ok_or_else(|| Problem::new("dict_type", "Input should be a valid dictionary"))
}

/// One of a fixed set of upper-case names.
pub fn one_of<T: Copy>(value: &Value, choices: &[(&str, T)]) -> Result<T, Problem> {
    let s = string(value)?;
    choices
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("'{n}'")).collect();
            let listed = match names.split_last() {
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                None => String::new(),
            };
            Problem::new("enum", format!("Input should be {listed}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(result: Result<(), Error>) -> Vec<FieldProblem> {
        match result {
            Err(Error::Validation(p)) => p,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_location() {
        let mut f = Fields::body(json!({"slug": 7, "max": -1})).unwrap();
        f.required("name", |v| text(v, 1, 10));
        f.required("slug", |v| text(v, 2, 63));
        f.optional("max", |v| integer_in(v, 0, 10));
        let p = problems(f.check());
        assert_eq!(p.len(), 3);
        assert_eq!(
            p[0],
            FieldProblem::new(
                vec![json!("body"), json!("name")],
                "missing",
                "Field required"
            )
        );
        assert_eq!(p[1].kind, "string_type");
        assert_eq!(p[2].kind, "greater_than_equal");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        let err = Fields::body(json!([1])).err().unwrap();
        assert!(matches!(err, Error::Validation(p) if p[0].kind == "model_attributes_type"));
    }

    #[test]
    fn patch_tells_absent_null_and_value_apart() {
        let mut f = Fields::body(json!({"a": null, "b": 3})).unwrap();
        assert_eq!(f.patch("a", integer), Patch::Clear);
        assert_eq!(f.patch("b", integer), Patch::Set(3));
        assert_eq!(f.patch("c", integer), Patch::Keep);
    }

    #[test]
    fn booleans_read_what_clients_send_and_nothing_else() {
        for (given, expected) in [
            (json!(true), true),
            (json!(false), false),
            (json!("true"), true),
            (json!("false"), false),
            (json!("True"), true),
            (json!("False"), false),
            (json!("1"), true),
            (json!("0"), false),
        ] {
            assert_eq!(boolean(&given), Ok(expected), "{given}");
        }
        for refused in ["yes", "TRUE", "maybe", "", " true", "2"] {
            let problem = boolean(&json!(refused)).unwrap_err();
            assert_eq!(problem.kind, "bool_parsing", "{refused:?}");
        }
        for refused in [json!(1), json!(null), json!([true])] {
            assert_eq!(
                boolean(&refused).unwrap_err().kind,
                "bool_type",
                "{refused}"
            );
        }
        // In a query string, the problem is located at the parameter.
        let mut q = Fields::query(vec![("is_active".into(), "maybe".into())]);
        assert_eq!(q.optional("is_active", boolean), None);
        let p = problems(q.check());
        assert_eq!(p[0].loc, vec![json!("query"), json!("is_active")]);
    }

    #[test]
    fn a_fixed_field_may_come_back_unchanged_or_null_where_there_is_none() {
        let mut f = Fields::body(json!({"a": 1, "b": null, "c": 2})).unwrap();
        let a = f.fixed("a", "cannot be changed", integer);
        let b = f.fixed("b", "cannot be changed", integer);
        let c = f.fixed("c", "cannot be changed", integer);
        let d = f.fixed("d", "cannot be changed", integer);
        f.check().unwrap();
        assert_eq!(a.changed(Some(&1)), None);
        assert_eq!(b.changed(None), None);
        assert_eq!(d.changed(Some(&5)), None);
        assert!(unchanged([a.changed(Some(&1)), b.changed(None)]).is_ok());
        let p = problems(unchanged([
            a.changed(Some(&2)),
            b.changed(Some(&3)),
            c.changed(None),
        ]));
        let named: Vec<&Value> = p.iter().map(|p| &p.loc[1]).collect();
        assert_eq!(named, vec!["a", "b", "c"]);
        assert_eq!(p[0].msg, "Value error, cannot be changed");
    }

    #[test]
    fn a_forbidden_field_sent_as_null_is_left_out() {
        let mut f = Fields::body(json!({"a": null, "b": "x"})).unwrap();
        f.forbid_value("a", "not here");
        f.forbid_value("b", "not here");
        f.forbid_value("c", "not here");
        let p = problems(f.check());
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].loc, vec![json!("body"), json!("b")]);
        assert_eq!(p[0].kind, "extra_forbidden");
    }

    #[test]
    fn a_null_body_is_no_body() {
        assert_eq!(absent_if_null(b"null"), b"");
        assert_eq!(absent_if_null(b" null\n"), b"");
        assert_eq!(absent_if_null(b"{}"), b"{}");
        assert_eq!(absent_if_null(b"nul"), b"nul");
        assert_eq!(absent_if_null(b""), b"");
    }

    #[test]
    fn enum_messages_list_the_choices() {
        let p = one_of(&json!("X"), &[("ACTIVE", 1), ("SUSPENDED", 2)]).unwrap_err();
        assert_eq!(p.msg, "Input should be 'ACTIVE' or 'SUSPENDED'");
        assert_eq!(p.kind, "enum");
    }

    #[test]
    fn lengths_count_characters_and_say_so() {
        assert_eq!(
            text(&json!("é"), 2, 5).unwrap_err().msg,
            "String should have at least 2 characters"
        );
        assert_eq!(
            text(&json!("abcdef"), 1, 5).unwrap_err().kind,
            "string_too_long"
        );
    }
}
