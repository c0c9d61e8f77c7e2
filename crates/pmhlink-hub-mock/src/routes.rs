//! The PMH API paths of the profile, matched by hand rather than through axum's router: a
//! profile is user data, and an odd path there must be an error at start, not a panic.

use pmhlink_profile::{ApiId, Profile, Role};

use crate::error::MockError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Register(ApiId),
    /// A result API and the task id taken from its path.
    Result(ApiId, String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    TaskId,
}

#[derive(Debug)]
pub(crate) struct Routes {
    register: Vec<(String, ApiId)>,
    result: Vec<(Vec<Segment>, ApiId)>,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
}

impl Routes {
    pub fn new(profile: &Profile) -> Result<Routes, MockError> {
        let refuse = |message: String| MockError::Profile {
            name: profile.name.clone(),
            message,
        };
        let mut register = Vec::new();
        let mut result = Vec::new();
        for (&id, api) in &profile.apis {
            let path = api.path.as_str();
            if !path.starts_with('/') || path.starts_with("/_mock/") || path == "/_mock" {
                return Err(refuse(format!(
                    "API {id}: path `{path}` must start with `/` and stay out of `/_mock/`"
                )));
            }
            match api.role {
                Role::Register => {
                    if path.contains('{') {
                        return Err(refuse(format!(
                            "API {id}: a registration path has no placeholder"
                        )));
                    }
                    register.push((path.to_owned(), id));
                }
                Role::Result => {
                    let segs: Vec<Segment> = segments(path)
                        .map(|s| {
                            if s.starts_with('{') && s.ends_with('}') {
                                Segment::TaskId
                            } else {
                                Segment::Literal(s.to_owned())
                            }
                        })
                        .collect();
                    if segs.iter().filter(|s| **s == Segment::TaskId).count() != 1 {
                        return Err(refuse(format!(
                            "API {id}: a result path has exactly one `{{taskId}}` segment"
                        )));
                    }
                    result.push((segs, id));
                }
            }
        }
        let routes = Routes { register, result };
        for (path, id) in &routes.register {
            if routes.find(path) != Some(Endpoint::Register(*id)) {
                return Err(refuse(format!(
                    "API {id}: path `{path}` is also another API's path"
                )));
            }
        }
        for (i, (a, id)) in routes.result.iter().enumerate() {
            if routes.result[..i].iter().any(|(b, _)| b == a) {
                return Err(refuse(format!(
                    "API {id}: its path is also another result API's path"
                )));
            }
        }
        Ok(routes)
    }

    /// Registration paths win over result paths, as a static route beats a parameter.
    pub fn find(&self, path: &str) -> Option<Endpoint> {
        if let Some((_, id)) = self.register.iter().find(|(p, _)| p == path) {
            return Some(Endpoint::Register(*id));
        }
        let parts: Vec<&str> = segments(path).collect();
        self.result.iter().find_map(|(segs, id)| {
            if segs.len() != parts.len() {
                return None;
            }
            let mut task = None;
            for (seg, part) in segs.iter().zip(&parts) {
                match seg {
                    Segment::Literal(l) if l == part => {}
                    Segment::TaskId if !part.is_empty() => task = Some((*part).to_owned()),
                    _ => return None,
                }
            }
            task.map(|t| Endpoint::Result(*id, t))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_paths_resolve() {
        let profile = Profile::builtin();
        let routes = Routes::new(&profile).unwrap();
        for (&id, api) in &profile.apis {
            let path = api.path.replace("{taskId}", "t-000001");
            let want = match api.role {
                Role::Register => Endpoint::Register(id),
                Role::Result => Endpoint::Result(id, "t-000001".into()),
            };
            assert_eq!(routes.find(&path), Some(want), "{id}");
        }
        assert_eq!(routes.find("/api/medical-subsidy/v1/nothing"), None);
        assert_eq!(
            routes.find("/api/medical-subsidy/v1/subjects/registration-tasks/"),
            None
        );
    }

    #[test]
    fn clashing_paths_are_refused() {
        let mut profile = Profile::builtin();
        let e02 = profile.apis[&ApiId::E02].path.clone();
        profile.apis.get_mut(&ApiId::E06).unwrap().path = e02;
        let err = Routes::new(&profile).unwrap_err().to_string();
        assert!(err.contains("also another API's path"), "{err}");
    }
}
