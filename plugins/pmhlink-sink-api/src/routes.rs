//! Where each request goes: the paths, methods and formats of the profile's APIs.

use pmhlink_pdk::PluginError;
use pmhlink_profile::{ApiId, Format, Profile, Role, spec::ResultSpec};
use reqwest::Method;

/// The placeholder of a result path.
const TASK_ID: &str = "{taskId}";

/// The task id `check` asks for: no task has it, so PMH answers 404 once it let us in.
pub const CHECK_TASK: &str = "pmhlink-connection-check";

/// A registration API and the result API that answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    pub api: ApiId,
    pub method: Method,
    pub path: String,
    pub format: Format,
    pub result: ResultRoute,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultRoute {
    pub api: ApiId,
    pub method: Method,
    /// With the `{taskId}` placeholder.
    pub path: String,
    pub format: Format,
}

impl ResultRoute {
    /// The path for one task; the id is percent-encoded, so whatever PMH calls its tasks stays
    /// one path segment.
    pub fn path_for(&self, task_id: &str) -> String {
        self.path.replace(TASK_ID, &percent_encode(task_id))
    }
}

/// The profile's routes, checked once when the sink opens.
#[derive(Debug)]
pub struct Routes {
    registers: Vec<Register>,
    /// `check` asks E08's result path (the recommended diff route), or the first result API
    /// a vendor's profile keeps.
    check: ResultRoute,
    pub result_spec: ResultSpec,
}

fn method(api: ApiId, word: &str) -> Result<Method, String> {
    Method::from_bytes(word.as_bytes())
        .map_err(|_| format!("API {api}: method `{word}` is not an HTTP method"))
}

impl Routes {
    /// Every registration API with its result API. `Err` says which API of the profile is
    /// unusable and why (paths must start with `/`; a result path holds `{taskId}` and a
    /// registration path does not).
    pub fn new(profile: &Profile) -> Result<Self, String> {
        let result_route = |id: ApiId| -> Result<ResultRoute, String> {
            let spec = profile
                .api(id)
                .ok_or_else(|| format!("API {id} is not in the profile"))?;
            if !spec.path.starts_with('/') || !spec.path.contains(TASK_ID) {
                return Err(format!(
                    "API {id}: a result path starts with `/` and holds `{TASK_ID}`"
                ));
            }
            Ok(ResultRoute {
                api: id,
                method: method(id, &spec.method)?,
                path: spec.path.clone(),
                format: spec.format,
            })
        };
        let mut registers = Vec::new();
        for (&id, spec) in &profile.apis {
            if spec.role != Role::Register {
                continue;
            }
            if !spec.path.starts_with('/') || spec.path.contains(['{', '?', '#']) {
                return Err(format!(
                    "API {id}: a registration path starts with `/` and holds no placeholder or query"
                ));
            }
            let result = spec
                .result
                .ok_or_else(|| format!("API {id} names no result API"))?;
            registers.push(Register {
                api: id,
                method: method(id, &spec.method)?,
                path: spec.path.clone(),
                format: spec.format,
                result: result_route(result)?,
            });
        }
        let check = match profile.api(ApiId::E08) {
            Some(_) => result_route(ApiId::E08)?,
            None => registers
                .first()
                .map(|r| r.result.clone())
                .ok_or("the profile has no registration API")?,
        };
        Ok(Self {
            registers,
            check,
            result_spec: profile.result.clone(),
        })
    }

    /// The registration API a payload names (`E06`, `SO0G-E06`).
    pub fn register(&self, api: &str) -> Result<&Register, PluginError> {
        let id: ApiId = api.parse().map_err(|_| {
            PluginError::data(format!("API `{api}` is not a PMH API (E01–E08, E11–E14)"))
        })?;
        self.registers.iter().find(|r| r.api == id).ok_or_else(|| {
            PluginError::data(format!("API {id} is not a registration API of the profile"))
        })
    }

    pub fn check(&self) -> &ResultRoute {
        &self.check
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a value is one path
/// segment or query value whatever it holds.
pub fn percent_encode(value: &str) -> String {
    use std::fmt::Write;
    value.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// `{run_id}-{seq}`: the same batch of the same run always carries the same key, so PMH can
/// recognise a retried POST (this process's, or a resumed run's) as one it already has.
/// Header values must be visible ASCII; the host's run ids are, and anything else is
/// percent-encoded (with `%` itself) rather than refused.
pub fn idempotency_key(run_id: &str, seq: u32) -> String {
    let raw = format!("{run_id}-{seq}");
    raw.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(char::from(b));
        } else {
            use std::fmt::Write;
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_paths() {
        let routes = Routes::new(&Profile::builtin()).unwrap();
        let e06 = routes.register("E06").unwrap();
        assert_eq!(e06.method, Method::POST);
        assert_eq!(
            e06.path,
            "/api/medical-subsidy/v1/subject-histories/registration-tasks"
        );
        assert_eq!(e06.format, Format::Json);
        assert_eq!(e06.result.api, ApiId::E08);
        assert_eq!(e06.result.method, Method::GET);
        assert_eq!(
            e06.result.path_for("t-1"),
            "/api/medical-subsidy/v1/subject-histories/registration-tasks/t-1"
        );
        let e05 = routes.register("SO0G-E05").unwrap();
        assert_eq!(e05.format, Format::Csv);
        assert_eq!(
            e05.result.path_for("42"),
            "/api/medical-subsidy/v1/subject-histories/registration-tasks/csv/42"
        );
        let e11 = routes.register("e11").unwrap();
        assert_eq!(e11.result.api, ApiId::E13);
        assert_eq!(routes.register("E01").unwrap().result.api, ApiId::E03);
        assert_eq!(
            routes.check().path_for(CHECK_TASK),
            "/api/medical-subsidy/v1/subject-histories/registration-tasks/pmhlink-connection-check"
        );
        assert_eq!(routes.result_spec.task_id, "taskId");
    }

    #[test]
    fn result_apis_and_strangers_are_not_registrations() {
        let routes = Routes::new(&Profile::builtin()).unwrap();
        let err = routes.register("E08").unwrap_err();
        assert!(
            err.message.contains("E08 is not a registration API"),
            "{err}"
        );
        let err = routes.register("X99").unwrap_err();
        assert!(err.message.contains("`X99` is not a PMH API"), "{err}");
    }

    #[test]
    fn a_vendor_profile_moves_the_paths() {
        let mut profile = Profile::builtin();
        let e06 = profile.apis.get_mut(&ApiId::E06).unwrap();
        e06.path = "/pmh/v2/histories".into();
        profile.apis.get_mut(&ApiId::E08).unwrap().path =
            "/pmh/v2/histories/{taskId}/result".into();
        let routes = Routes::new(&profile).unwrap();
        let e06 = routes.register("E06").unwrap();
        assert_eq!(e06.path, "/pmh/v2/histories");
        assert_eq!(
            e06.result.path_for("a b/c"),
            "/pmh/v2/histories/a%20b%2Fc/result"
        );
    }

    #[test]
    fn unusable_profiles_name_the_api() {
        let broken = |api: ApiId, path: &str, method: &str| {
            let mut profile = Profile::builtin();
            let spec = profile.apis.get_mut(&api).unwrap();
            spec.path = path.into();
            spec.method = method.into();
            Routes::new(&profile).unwrap_err()
        };
        let err = broken(ApiId::E08, "/no/placeholder", "GET");
        assert!(err.contains("API E08") && err.contains("{taskId}"), "{err}");
        let err = broken(ApiId::E06, "relative/path", "POST");
        assert!(err.contains("API E06"), "{err}");
        let err = broken(ApiId::E06, "/tasks/{taskId}", "POST");
        assert!(err.contains("API E06"), "{err}");
        let err = broken(ApiId::E06, "/tasks", "PO ST");
        assert!(err.contains("method `PO ST`"), "{err}");
    }

    #[test]
    fn encodings() {
        assert_eq!(percent_encode("Ab9-._~"), "Ab9-._~");
        assert_eq!(percent_encode("a/b?c=d&e"), "a%2Fb%3Fc%3Dd%26e");
        assert_eq!(percent_encode("受"), "%E5%8F%97");
        assert_eq!(
            idempotency_key("131016-20250601-daily", 3),
            "131016-20250601-daily-3"
        );
        assert_eq!(idempotency_key("r 1%", 12), "r%201%25-12");
        assert_eq!(idempotency_key("日", 1), "%E6%97%A5-1");
    }
}
