//! What a job on this computer uses: the CPU time and memory of its whole process tree (the
//! wrapper, the script and everything they start), read with `sysinfo` so it works wherever
//! `sysinfo` does, not only where `/proc` exists.

use std::collections::HashMap;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// One reading of a process tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeUsage {
    /// CPU time of the processes alive now, in CPU-milliseconds (they only grow, but a process
    /// that ended takes its share with it).
    pub cpu_time_ms: u64,
    /// Resident memory of the processes alive now.
    pub memory_bytes: u64,
    pub processes: usize,
}

/// `root` and all its descendants, or `None` when `root` is gone or unreadable.
pub fn of_tree(root: u32) -> Option<TreeUsage> {
    let mut system = System::new().ok()?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        // Threads are not processes here: counted as such, their memory would be counted twice.
        ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .without_tasks(),
    );
    let processes = system.processes();
    let root = Pid::from_u32(root);
    processes.get(&root)?;
    let mut children: HashMap<Pid, Vec<Pid>> = HashMap::new();
    for (pid, p) in processes {
        if let Some(parent) = p.parent() {
            children.entry(parent).or_default().push(*pid);
        }
    }
    let mut usage = TreeUsage {
        cpu_time_ms: 0,
        memory_bytes: 0,
        processes: 0,
    };
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        let Some(p) = processes.get(&pid) else {
            continue;
        };
        usage.cpu_time_ms += p.accumulated_cpu_time();
        usage.memory_bytes += p.memory();
        usage.processes += 1;
        todo.extend(children.get(&pid).into_iter().flatten());
    }
    Some(usage)
}

/// The memory this computer has, in bytes (`None` where `sysinfo` cannot tell).
pub fn total_memory() -> Option<u64> {
    let mut system = System::new().ok()?;
    system.refresh_memory();
    Some(system.total_memory()).filter(|&m| m > 0)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_tree_counts_the_cpu_and_memory_of_its_children() {
        // A shell whose child spins for half a second of its own CPU time (not of the clock: on
        // a loaded machine it got less than 0.4 s of CPU in 0.6 s and the test failed), then
        // holds 64 MiB.
        let mut root = std::process::Command::new("bash")
            .args([
                "-c",
                "python3 -c 'import time\nwhile time.process_time()<0.5: pass\nb=bytearray(64<<20)\ntime.sleep(30)' & wait",
            ])
            .spawn()
            .unwrap();
        let pid = root.id();
        let mut seen = None;
        // Up to 15 s: on a loaded two-core machine the child may wait long for its 0.4 s of CPU.
        for _ in 0..150 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let u = of_tree(pid).unwrap();
            if u.memory_bytes > 64 << 20 && u.cpu_time_ms >= 400 {
                seen = Some(u);
                break;
            }
        }
        let _ = std::process::Command::new("pkill")
            .args(["-P", &pid.to_string()])
            .status();
        let _ = root.kill();
        let _ = root.wait();
        let u = seen.expect("the child's CPU time and memory were never counted");
        assert_eq!(u.processes, 2, "{u:?}");
        assert!(of_tree(pid).is_none(), "the tree is gone once its root is");
    }

    #[test]
    fn this_computer_has_memory() {
        assert!(total_memory().unwrap() > 256 << 20);
    }
}
