//! How much of its budgets the probe child has used, read from what the kernel keeps for
//! it rather than from the wall clock: CPU time, counted over all its threads, and waiting
//! time, the polling intervals in which none of its threads was running or ready to run.
//! On a loaded machine a child that computes is ready to run and waits for a CPU, which
//! counts as neither, so the verdict depends on what the library does, not on the load.

use std::time::{Duration, Instant};

/// Most threads of the child read at one poll.
#[cfg(target_os = "linux")]
const MAX_THREADS: usize = 4096;

/// What the child has used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time of all its threads, the ended ones included.
    pub cpu: Duration,
    /// Time in which none of its threads was running or ready to run.
    pub waiting: Duration,
}

/// Samples one child process at each [`Meter::poll`].
pub struct Meter {
    pid: u32,
    last: Instant,
    usage: Usage,
}

impl Meter {
    pub fn new(pid: u32) -> Self {
        Meter {
            pid,
            last: Instant::now(),
            usage: Usage::default(),
        }
    }

    /// Reads the child's state now and adds the interval since the last poll to its waiting
    /// time when no thread of it is running or ready to run. Where the kernel says nothing
    /// (no `/proc`: not Linux), every interval counts as waiting, so the wait is bounded by
    /// wall time there.
    pub fn poll(&mut self) -> Usage {
        let now = Instant::now();
        let interval = now.saturating_duration_since(self.last);
        self.last = now;
        let sample = sample(self.pid);
        if let Some(cpu) = sample.cpu {
            self.usage.cpu = self.usage.cpu.max(cpu);
        }
        if !sample.runnable {
            self.usage.waiting += interval;
        }
        self.usage
    }
}

/// One reading of the child.
struct Sample {
    /// Some thread was running or ready to run.
    runnable: bool,
    cpu: Option<Duration>,
}

#[cfg(target_os = "linux")]
fn sample(pid: u32) -> Sample {
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| cpu_time(&stat));
    let mut runnable = false;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.take(MAX_THREADS).flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue; // the thread has just ended
            };
            if state(&stat) == Some('R') {
                runnable = true;
                break;
            }
        }
    }
    Sample { runnable, cpu }
}

#[cfg(not(target_os = "linux"))]
fn sample(_pid: u32) -> Sample {
    Sample {
        runnable: false,
        cpu: None,
    }
}

/// The fields of a `/proc/.../stat` line after the command name, which is in parentheses and
/// may itself hold spaces and parentheses.
#[cfg(target_os = "linux")]
fn fields(stat: &str) -> Option<std::str::SplitWhitespace<'_>> {
    Some(stat.get(stat.rfind(')')? + 1..)?.split_whitespace())
}

/// The scheduler state letter: `R` running or ready to run, `S` or `D` waiting, and so on.
#[cfg(target_os = "linux")]
fn state(stat: &str) -> Option<char> {
    fields(stat)?.next()?.chars().next()
}

/// User and system CPU time of the whole process (its ended threads included).
#[cfg(target_os = "linux")]
fn cpu_time(stat: &str) -> Option<Duration> {
    // After the name: state, then ten fields, then utime and stime in clock ticks.
    let mut after = fields(stat)?.skip(11);
    let utime: u64 = after.next()?.parse().ok()?;
    let stime: u64 = after.next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|&t| t > 0)?;
    let total = utime.saturating_add(stime);
    Some(
        Duration::from_secs(total / ticks)
            + Duration::from_nanos((total % ticks) * 1_000_000_000 / ticks),
    )
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    // A real line, with a command name that holds a space and a parenthesis.
    const LINE: &str =
        "4242 (nif (init) x) S 1 4242 4242 0 -1 4194560 120 0 0 0 250 30 0 0 20 0 1 0 5 1000 10";

    #[test]
    fn reads_the_state_after_the_name() {
        assert_eq!(state(LINE), Some('S'));
        assert_eq!(state("1 (a) R 0"), Some('R'));
        assert_eq!(state("garbage"), None);
    }

    #[test]
    fn adds_user_and_system_time() {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        assert_eq!(
            cpu_time(LINE),
            Some(Duration::from_secs(280) / ticks as u32)
        );
        assert_eq!(cpu_time("1 (a) R 0 1"), None);
    }
}
