//! The site tables in force: `rules.site` (a file) merged with the inline `rules` entries.

use pmhlink_rules::SiteTables;

use crate::error::ConfigError;
use crate::model::Pipeline;

impl Pipeline {
    /// Reads `rules.site` (relative to [`Pipeline::base_dir`]) if given and adds the inline
    /// `rules.local_programs` and `rules.gaiji`. A 外字 mapped differently in both places is
    /// an error: which one wins would otherwise depend on where a reader looks.
    pub fn site_tables(&self) -> Result<SiteTables, ConfigError> {
        let mut site = match &self.rules.site {
            None => SiteTables::default(),
            Some(rel) => {
                let path = self.resolve(rel);
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Site {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Site {
                    path: path.clone(),
                    message: e.to_string(),
                })?
            }
        };
        site.local_programs
            .extend(self.rules.local_programs.iter().cloned());
        for (from, to) in &self.rules.gaiji {
            if let Some(other) = site.gaiji.get(from)
                && other != to
            {
                return Err(ConfigError::Site {
                    path: self.resolve(self.rules.site.as_deref().unwrap_or("".as_ref())),
                    message: format!(
                        "外字 U+{:04X} is mapped differently here and in `rules.gaiji`",
                        from.chars().next().map_or(0, u32::from)
                    ),
                });
            }
            site.gaiji.insert(from.clone(), to.clone());
        }
        Ok(site)
    }
}
