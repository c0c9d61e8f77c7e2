//! Fault injection: request rules (status, delay, dropped connection, a task that never
//! completes) spent one hit at a time, and record rejection rules applied during record checks.

use std::path::Path;

use pmhlink_profile::ApiId;
use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;
use crate::error::MockError;

/// The requests a rule can hit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// A registration POST.
    Register,
    /// A result GET.
    Result,
    /// Every PMH API request: registration, result and the idempotency-key lookup. Never the
    /// `/_mock/` endpoints, which tests need to inspect a faulty hub.
    #[default]
    Any,
}

/// What kind of PMH API request is being answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestKind {
    Register,
    Lookup,
    Result,
}

/// One request rule. It hits the next `times` matching requests, then it is spent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    #[serde(default)]
    pub on: Target,
    /// Only requests to this API's path (the register API for POSTs and lookups, the result
    /// API for result GETs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiId>,
    #[serde(default = "one")]
    pub times: u32,
    /// Answer this status instead of handling the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds for the `Retry-After` header of the status answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Wait this long before anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Handle the request, then close the connection without an answer.
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop: bool,
    /// The task the request creates (register) or polls (result) never completes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stay_processing: bool,
}

/// Rejects every record whose `field` (a wire key path) matches, with `code` and `message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectRule {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<String>,
    #[serde(default = "rule_code")]
    pub code: String,
    #[serde(default = "rule_message")]
    pub message: String,
}

impl RejectRule {
    pub(crate) fn matches(&self, value: &str) -> bool {
        self.equals.as_deref().is_some_and(|e| value == e)
            || self
                .ends_with
                .as_deref()
                .is_some_and(|e| value.ends_with(e))
    }
}

/// The fault configuration: `[[fault]]` request rules, applied in order (the first unspent rule
/// that matches a request hits it), and `[[reject]]` record rules. The same structure is read
/// from TOML (`Faults::load`) and from JSON (`POST /_mock/faults`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    #[serde(default, rename = "fault")]
    pub rules: Vec<FaultRule>,
    #[serde(default)]
    pub reject: Vec<RejectRule>,
}

fn one() -> u32 {
    1
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn rule_code() -> String {
    ErrorCode::RejectedByRule.code().to_owned()
}

fn rule_message() -> String {
    ErrorCode::RejectedByRule.message().to_owned()
}

impl Faults {
    pub fn load(path: &Path) -> Result<Faults, MockError> {
        let text = std::fs::read_to_string(path).map_err(|source| MockError::FaultsRead {
            path: path.display().to_string(),
            source,
        })?;
        Faults::from_toml_str(&text, &path.display().to_string())
    }

    pub fn from_toml_str(text: &str, origin: &str) -> Result<Faults, MockError> {
        let invalid = |message: String| MockError::Faults {
            origin: origin.to_owned(),
            message,
        };
        let faults: Faults = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        faults.validate().map_err(invalid)?;
        Ok(faults)
    }

    /// Rules that cannot mean anything are refused rather than silently never firing.
    pub fn validate(&self) -> Result<(), String> {
        for (i, r) in self.rules.iter().enumerate() {
            let at = format!("fault rule {}", i + 1);
            if r.times == 0 {
                return Err(format!("{at}: times must be at least 1"));
            }
            if let Some(s) = r.status
                && !(400..=599).contains(&s)
            {
                return Err(format!("{at}: status {s} is not an error status (400–599)"));
            }
            if r.status.is_some() && (r.drop || r.stay_processing) {
                return Err(format!(
                    "{at}: a status answer handles nothing, so it cannot also drop or stay processing"
                ));
            }
            if r.retry_after.is_some() && r.status.is_none() {
                return Err(format!("{at}: retry_after goes with a status"));
            }
            if r.status.is_none() && r.delay_ms.is_none() && !r.drop && !r.stay_processing {
                return Err(format!(
                    "{at}: does nothing (set status, delay_ms, drop or stay_processing)"
                ));
            }
        }
        for (i, r) in self.reject.iter().enumerate() {
            let at = format!("reject rule {}", i + 1);
            if r.field.is_empty() {
                return Err(format!("{at}: field is empty"));
            }
            if r.equals.is_some() == r.ends_with.is_some() {
                return Err(format!("{at}: set exactly one of equals and ends_with"));
            }
            if r.code.is_empty() {
                return Err(format!("{at}: code is empty"));
            }
        }
        Ok(())
    }

    /// The rule that hits this request, if any, with one hit spent (a spent rule is removed, so
    /// `GET /_mock/faults` shows what is left).
    pub(crate) fn take(&mut self, kind: RequestKind, api: ApiId) -> Option<FaultRule> {
        let pos = self.rules.iter().position(|r| {
            let on = match r.on {
                Target::Any => true,
                Target::Register => kind == RequestKind::Register,
                Target::Result => kind == RequestKind::Result,
            };
            on && r.api.is_none_or(|a| a == api)
        })?;
        let rule = &mut self.rules[pos];
        rule.times -= 1;
        let hit = rule.clone();
        if rule.times == 0 {
            self.rules.remove(pos);
        }
        Some(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[[fault]]
on = "register"
api = "E06"
times = 2
status = 503
retry_after = 3

[[fault]]
on = "result"
delay_ms = 50

[[reject]]
field = "historyKey"
ends_with = "X"
"#;

    #[test]
    fn toml_sample_loads_with_defaults() {
        let f = Faults::from_toml_str(SAMPLE, "sample").unwrap();
        assert_eq!(f.rules.len(), 2);
        assert_eq!(f.rules[1].times, 1);
        assert_eq!(f.rules[1].on, Target::Result);
        assert_eq!(f.reject[0].code, "E0099");
        assert_eq!(f.reject[0].message, "rejected by rule");
    }

    #[test]
    fn rules_are_spent_in_order() {
        let mut f = Faults::from_toml_str(SAMPLE, "sample").unwrap();
        assert!(f.take(RequestKind::Register, ApiId::E05).is_none());
        assert_eq!(
            f.take(RequestKind::Register, ApiId::E06).unwrap().status,
            Some(503)
        );
        assert_eq!(f.rules[0].times, 1);
        assert!(f.take(RequestKind::Register, ApiId::E06).is_some());
        assert!(f.take(RequestKind::Register, ApiId::E06).is_none());
        assert!(f.take(RequestKind::Lookup, ApiId::E06).is_none());
        assert_eq!(
            f.take(RequestKind::Result, ApiId::E08).unwrap().delay_ms,
            Some(50)
        );
        assert!(f.rules.is_empty());
    }

    #[test]
    fn meaningless_rules_are_refused() {
        for (text, why) in [
            ("[[fault]]\non = \"any\"\n", "does nothing"),
            ("[[fault]]\nstatus = 200\n", "not an error status"),
            ("[[fault]]\nstatus = 500\ndrop = true\n", "cannot also"),
            ("[[fault]]\ndrop = true\ntimes = 0\n", "at least 1"),
            (
                "[[fault]]\ndelay_ms = 5\nretry_after = 1\n",
                "goes with a status",
            ),
            (
                "[[reject]]\nfield = \"myNumber\"\nequals = \"1\"\nends_with = \"1\"\n",
                "exactly one",
            ),
            ("[[fault]]\nwhen = \"now\"\n", "unknown field"),
        ] {
            let err = Faults::from_toml_str(text, "t").unwrap_err().to_string();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
