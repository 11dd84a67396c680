//! What a process uses, read from `/proc`: resident memory, CPU time, and the limit on open descriptors.

use std::process::Command;
use std::time::Duration;

use crate::TestResult;

/// The resident memory of process `pid`, in bytes (`VmRSS` of `/proc/<pid>/status`).
///
/// # Errors
/// When the file cannot be read or has no such line.
pub fn resident_bytes(pid: u32) -> TestResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or("no VmRSS line in /proc/<pid>/status")?
        .parse()?;
    Ok(kib * 1024)
}

/// The CPU time process `pid` has used, user and system (fields 14 and 15 of `/proc/<pid>/stat`).
///
/// # Errors
/// When the file cannot be read or parsed.
pub fn cpu_time(pid: u32) -> TestResult<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name, field 2, is in parentheses and may hold spaces: count fields after its end.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("no command name in /proc/<pid>/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` starts at field 3, so fields 14 and 15 are at 11 and 12.
    let ticks = |index: usize| -> TestResult<u64> {
        Ok(fields
            .get(index)
            .ok_or("/proc/<pid>/stat is too short")?
            .parse()?)
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_secs_f64(
        total as f64 / clock_ticks_per_second()?,
    ))
}

/// The kernel's clock ticks per second, in which `/proc/<pid>/stat` counts CPU time.
fn clock_ticks_per_second() -> TestResult<f64> {
    let output = Command::new("getconf").arg("CLK_TCK").output()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().parse()?)
}

/// The soft limit on open files of this process.
///
/// # Errors
/// When `/proc/self/limits` cannot be read or parsed.
pub fn descriptor_limit() -> TestResult<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .ok_or("no open files line in /proc/self/limits")?;
    Ok(line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()
        .ok_or("no soft limit")?
        .parse()?)
}

/// Raises this process's soft limit on open files to at least `wanted` (with `prlimit`, from util-linux), for a
/// test that opens more sockets than the usual 1024.
///
/// # Errors
/// When the limit cannot be raised that far (the hard limit is lower, or `prlimit` is missing).
pub fn ensure_descriptor_limit(wanted: u64) -> TestResult {
    if descriptor_limit()? >= wanted {
        return Ok(());
    }
    let status = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={wanted}:"))
        .status()
        .map_err(|err| format!("cannot run prlimit (util-linux): {err}"))?;
    let now = descriptor_limit()?;
    if !status.success() || now < wanted {
        return Err(format!(
            "this test needs {wanted} open files but the limit stays at {now} (raise the hard limit)"
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() -> TestResult {
        let pid = std::process::id();
        assert!(resident_bytes(pid)? > 1024 * 1024);
        let spent = cpu_time(pid)?;
        let busy = std::time::Instant::now();
        while busy.elapsed() < Duration::from_millis(300) {
            std::hint::black_box(busy.elapsed());
        }
        assert!(cpu_time(pid)? > spent);
        assert!(descriptor_limit()? > 0);
        Ok(())
    }
}
