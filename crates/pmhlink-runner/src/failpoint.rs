//! Crash points for the resume tests: with `PMHLINK_TEST_KILL_AT=<point>` the process sends
//! itself SIGKILL there, exactly as an operator's `kill -9` or a power cut would stop it, so the
//! tests prove that every point of a run is resumable. Unset, each point is one env lookup.

/// The named points, in the order a run passes them.
pub const POINTS: [&str; 5] = ["read", "planned", "staged", "finished", "delivered"];

pub fn hit(point: &str) {
    if std::env::var("PMHLINK_TEST_KILL_AT").is_ok_and(|p| p == point) {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        // The signal is on its way; never carry on past the point.
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}
