//! The run's progress on stderr: a row counter over the primary source while it is read.

use crate::plugins::PluginSource;
use crate::table::Table;
use crate::vocab::{RunError, SourceHandle};

/// Counts rows through the progress bar as the primary source yields them.
pub struct Counting<'a> {
    pub inner: &'a mut PluginSource,
    pub progress: &'a Progress,
}

impl SourceHandle for Counting<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn plugin(&self) -> &str {
        self.inner.plugin()
    }

    fn next_batch(&mut self, max_rows: usize, into: &mut Table) -> Result<bool, RunError> {
        let more = self.inner.next_batch(max_rows, into)?;
        self.progress.add(into.len() as u64);
        Ok(more)
    }
}

/// A row counter on stderr; indicatif draws nothing when stderr is not a terminal, so cron
/// logs stay clean.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub fn new(enabled: bool, source: &str) -> Progress {
        Progress(enabled.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg}: {human_pos} rows ({per_sec}) {elapsed}",
                )
                .expect("a valid template"),
            );
            bar.set_message(format!("reading `{source}`"));
            bar
        }))
    }

    pub fn add(&self, rows: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(rows);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
