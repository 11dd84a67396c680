//! The process's limit on open file descriptors, which every connection spends one of.

/// The soft limit most systems start processes with, assumed where it cannot be read.
pub(crate) const USUAL_SOFT_LIMIT: usize = 1024;

/// Descriptors kept for everything a process opens besides one server's connections: its
/// listeners, files, pipes, the runtime's own, and a stand-alone `/metrics` server with its
/// default cap (at least this many, or a quarter of the limit if more).
const MIN_RESERVE: usize = 32;

/// The soft limit on open files (`RLIMIT_NOFILE`), read from `/proc/self/limits`; `None` where
/// that file does not exist or says "unlimited".
pub(crate) fn soft_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_soft_limit(&limits)
}

/// The soft limit in the text of `/proc/<pid>/limits`, whose line reads
/// `Max open files            1024                 524288               files`.
fn parse_soft_limit(limits: &str) -> Option<usize> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How many connections fit under a descriptor limit of `limit`, after the reserve.
pub(crate) fn share_for_connections(limit: usize) -> usize {
    let reserve = (limit / 4).max(MIN_RESERVE);
    limit.saturating_sub(reserve).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_soft_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_soft_limit(text), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_soft_limit(unlimited), None);
        assert_eq!(parse_soft_limit(""), None);
    }

    #[test]
    fn keeps_a_reserve() {
        assert_eq!(share_for_connections(1024), 768);
        assert_eq!(share_for_connections(64), 32);
        assert_eq!(share_for_connections(10), 1);
        assert_eq!(share_for_connections(80_000), 60_000);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_limit() {
        assert!(soft_limit().is_some_and(|limit| limit > 0));
    }
}
