//! Who is doing a piece of work that must not be done twice at once (sending a queued job,
//! running an upload), and whether that process is still alive: several Usine processes (the
//! app, `usine` commands in terminals) share one store.

/// One attempt by this process: its host, pid and start time (so that a dead owner is
/// recognised even when its pid was reused), and a random part (two attempts in the same
/// process are two owners too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner(String);

impl Owner {
    pub fn this_process() -> Self {
        Self(format!(
            "{}/{}",
            this_process_part(),
            crate::store::new_id()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a recorded owner is this very process (another attempt of it, or a task it
    /// stopped): the process coordinates its own work.
    pub fn is_this_process(owner: &str) -> bool {
        owner.rsplit_once('/').map(|(process, _)| process) == Some(this_process_part())
    }

    /// Whether the process behind a recorded owner is known to be gone: it ran on this
    /// computer and no process with its pid and start time exists any more. An owner on
    /// another computer, or one this computer cannot check, is taken to be alive.
    pub fn is_gone(owner: &str) -> bool {
        let mut parts = owner.split('/');
        let (Some(host), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
            return false;
        };
        host == crate::target::this_host()
            && process_start(pid).is_some_and(|found| found != Some(start))
    }
}

/// `host/pid/start` of this process: read once, it does not change while the process lives.
fn this_process_part() -> &'static str {
    static PART: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PART.get_or_init(|| {
        let pid = std::process::id();
        format!(
            "{}/{pid}/{}",
            crate::target::this_host(),
            process_start(pid).flatten().unwrap_or(0)
        )
    })
}

/// When process `pid` started (seconds since the epoch), `Some(None)` when there is no such
/// process, `None` when this computer cannot tell.
fn process_start(pid: u32) -> Option<Option<u64>> {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = Pid::from_u32(pid);
    let mut system = System::new().ok()?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        false,
        ProcessRefreshKind::nothing(),
    );
    Some(system.process(pid).map(|p| p.start_time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_is_gone() {
        assert!(!Owner::is_gone(Owner::this_process().as_str()));
        assert!(Owner::is_this_process(Owner::this_process().as_str()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let host = crate::target::this_host();
        assert!(Owner::is_gone(&format!("{host}/{pid}/1/x")));
        assert!(!Owner::is_this_process(&format!("{host}/{pid}/1/x")));
        // Another computer's processes cannot be checked from here: alive until their lease ends.
        assert!(!Owner::is_gone(&format!("elsewhere/{pid}/1/x")));
        assert!(!Owner::is_gone("garbage"));
    }
}
