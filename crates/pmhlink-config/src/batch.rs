//! The pipeline's `[batch]` settings against the interface profile's limits: the one place
//! that decides how large a payload of this pipeline may be. It needs the profile, so it is
//! checked when the profile is loaded (`check`, `run`, `plan`, `reset`, `lint --pipeline`,
//! `profile --pipeline`), not by [`Pipeline::load`].

use pmhlink_profile::Profile;
use pmhlink_profile::spec::Limits;

use crate::error::{ConfigError, KeyPath};
use crate::model::Pipeline;

impl Pipeline {
    /// The limits this pipeline's payloads are cut to: `batch.max_records` and
    /// `batch.max_bytes` where given, else `profile`'s own. A value of zero or above the
    /// profile's limit is refused, each problem naming its key, the limit and where the value
    /// came from (the file or an override variable).
    pub fn batch_limits(&self, profile: &Profile) -> Result<Limits, ConfigError> {
        let ceiling = &profile.limits;
        let at = KeyPath::root().key("batch");
        let mut problems = Vec::new();
        let mut within = |key: &str, asked: Option<usize>, limit: usize, unit: &str| {
            let Some(asked) = asked else {
                return limit;
            };
            if (1..=limit).contains(&asked) {
                return asked;
            }
            let k = at.key(key);
            problems.push(self.origins.problem(
                k.clone(),
                format!(
                    "`{k}` = {asked}: a payload holds from 1 to {limit} {unit}, the limit of the \
                     interface profile `{}` {} (`limits.{key}`)",
                    profile.name, profile.version
                ),
            ));
            limit
        };
        let limits = Limits {
            max_records: within(
                "max_records",
                self.batch.max_records,
                ceiling.max_records,
                "records",
            ),
            max_bytes: within(
                "max_bytes",
                self.batch.max_bytes,
                ceiling.max_bytes,
                "bytes",
            ),
            ..ceiling.clone()
        };
        if problems.is_empty() {
            Ok(limits)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}
