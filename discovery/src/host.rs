//! Where the Docker Engine API listens: `--docker-host`, `DOCKER_HOST`, or the default socket.

use std::fmt;
use std::path::PathBuf;

use crate::Error;

/// The socket the docker CLI uses when `DOCKER_HOST` is unset.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// The longest socket path Linux accepts: `sun_path` is 108 bytes, NUL included.
const MAX_SOCKET_PATH: usize = 107;

/// The port the docker CLI assumes for a plain `tcp://host` without TLS.
pub const DEFAULT_TCP_PORT: u16 = 2375;

/// A Docker Engine API endpoint this program can talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    /// A unix socket, from `unix:///path/to/docker.sock`.
    Unix(PathBuf),
    /// Plain HTTP over TCP, from `tcp://host:port` or `http://host:port`; holds `host:port`.
    Tcp(String),
}

impl Default for DockerHost {
    fn default() -> Self {
        DockerHost::Unix(PathBuf::from(DEFAULT_SOCKET))
    }
}

impl fmt::Display for DockerHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerHost::Unix(path) => write!(f, "unix://{}", path.display()),
            DockerHost::Tcp(authority) => write!(f, "tcp://{authority}"),
        }
    }
}

impl DockerHost {
    /// Parses a host URL the way the docker CLI reads `DOCKER_HOST`.
    ///
    /// Accepted: `unix:///path` (an empty path means the default socket), `tcp://host[:port]`
    /// and `http://host[:port]` (port 2375 when omitted, host `localhost` when empty). Refused
    /// with a reason: TLS (`https://`), `ssh://`, `npipe://`, `fd://`, a missing scheme, a
    /// socket path longer than a unix socket address holds, and a base path after the address.
    ///
    /// ```
    /// use swarm_discovery::DockerHost;
    ///
    /// assert_eq!(
    ///     DockerHost::parse("tcp://127.0.0.1").unwrap(),
    ///     DockerHost::Tcp("127.0.0.1:2375".into())
    /// );
    /// ```
    pub fn parse(value: &str) -> Result<DockerHost, Error> {
        let refuse = |reason: &str| Error::DockerHost {
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = value.trim();
        let Some((scheme, rest)) = trimmed.split_once("://") else {
            return Err(refuse(
                "expected a URL such as unix:///var/run/docker.sock or tcp://host:2375",
            ));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "unix" => {
                if rest.is_empty() {
                    return Ok(DockerHost::default());
                }
                if !rest.starts_with('/') {
                    return Err(refuse("the socket path must be absolute (unix:///path)"));
                }
                if rest.len() > MAX_SOCKET_PATH {
                    return Err(refuse(&format!(
                        "the socket path is {} bytes long; a unix socket address holds at \
                         most {MAX_SOCKET_PATH}",
                        rest.len()
                    )));
                }
                Ok(DockerHost::Unix(PathBuf::from(rest)))
            }
            "tcp" | "http" => parse_authority(rest).map(DockerHost::Tcp).map_err(refuse),
            "https" => Err(refuse(
                "TLS is not supported; use the unix socket or a plain tcp:// endpoint",
            )),
            "ssh" | "npipe" | "fd" => Err(refuse(
                "only unix:// and tcp:// (or http://) endpoints are supported",
            )),
            _ => Err(refuse(
                "unknown scheme; expected unix://, tcp:// or http://",
            )),
        }
    }

    /// Chooses the endpoint from the flag, then `DOCKER_HOST`, then the default socket, as
    /// the docker CLI does. An empty `DOCKER_HOST` counts as unset.
    ///
    /// `tls_verify` is the value of `DOCKER_TLS_VERIFY`: when it is set and not empty, the
    /// docker CLI would speak TLS to a TCP endpoint, which this program cannot, so that is an
    /// error rather than a silent downgrade to plain HTTP.
    pub fn resolve(
        flag: Option<&str>,
        env_host: Option<&str>,
        tls_verify: Option<&str>,
    ) -> Result<DockerHost, Error> {
        let chosen = flag.or(env_host.filter(|value| !value.trim().is_empty()));
        let host = match chosen {
            Some(value) => DockerHost::parse(value)?,
            None => DockerHost::default(),
        };
        let tls_requested = tls_verify.is_some_and(|value| !value.is_empty());
        if let (DockerHost::Tcp(_), true) = (&host, tls_requested) {
            return Err(Error::DockerHost {
                value: host.to_string(),
                reason: "DOCKER_TLS_VERIFY is set, but TLS is not supported; unset it or use \
                         the unix socket"
                    .to_string(),
            });
        }
        Ok(host)
    }
}

/// Validates `host[:port][/]` and returns `host:port`.
fn parse_authority(rest: &str) -> Result<String, &'static str> {
    let authority = match rest.split_once('/') {
        Some((authority, "")) => authority,
        Some(_) => return Err("a base path after the address is not supported"),
        None => rest,
    };
    if authority.contains('@') {
        return Err("user information in the address is not supported");
    }
    // `[v6]:port` keeps its brackets; otherwise the last colon separates the port.
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((inner, after)) = bracketed.split_once(']') else {
            return Err("unclosed '[' in an IPv6 address");
        };
        if inner.is_empty() {
            return Err("empty IPv6 address");
        }
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Err("unexpected text after the IPv6 address"),
            },
        };
        (format!("[{inner}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err("write IPv6 addresses in brackets, e.g. tcp://[::1]:2375")
            }
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (authority.to_string(), None),
        }
    };
    let host = if host.is_empty() {
        "localhost".to_string()
    } else {
        host
    };
    let port = match port {
        None => DEFAULT_TCP_PORT,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err("the port must be a number from 1 to 65535"),
        },
    };
    Ok(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(authority: &str) -> DockerHost {
        DockerHost::Tcp(authority.to_string())
    }

    #[test]
    fn unix_urls() {
        assert_eq!(
            DockerHost::parse("unix:///var/run/docker.sock").unwrap(),
            DockerHost::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            DockerHost::parse("unix:///run/user/1000/docker.sock").unwrap(),
            DockerHost::Unix("/run/user/1000/docker.sock".into())
        );
        assert_eq!(DockerHost::parse("unix://").unwrap(), DockerHost::default());
        assert!(DockerHost::parse("unix://relative/docker.sock").is_err());
        let longest = format!("/{}", "s".repeat(106));
        assert_eq!(
            DockerHost::parse(&format!("unix://{longest}")).unwrap(),
            DockerHost::Unix(longest.into())
        );
        let too_long = format!("unix:///{}", "s".repeat(40_000));
        let error = DockerHost::parse(&too_long).unwrap_err().to_string();
        assert!(
            error.contains("40001 bytes long"),
            "{}",
            &error[error.len() - 80..]
        );
    }

    #[test]
    fn tcp_and_http_urls() {
        assert_eq!(
            DockerHost::parse("tcp://10.1.2.3:2376").unwrap(),
            tcp("10.1.2.3:2376")
        );
        assert_eq!(
            DockerHost::parse("http://docker:2375/").unwrap(),
            tcp("docker:2375")
        );
        assert_eq!(
            DockerHost::parse("tcp://docker").unwrap(),
            tcp("docker:2375")
        );
        assert_eq!(
            DockerHost::parse("tcp://:2375").unwrap(),
            tcp("localhost:2375")
        );
        assert_eq!(
            DockerHost::parse("TCP://docker:1").unwrap(),
            tcp("docker:1")
        );
        assert_eq!(
            DockerHost::parse("tcp://[::1]:2375").unwrap(),
            tcp("[::1]:2375")
        );
        assert_eq!(DockerHost::parse("tcp://[::1]").unwrap(), tcp("[::1]:2375"));
    }

    #[test]
    fn refused_urls_say_why() {
        for (value, reason) in [
            ("/var/run/docker.sock", "expected a URL"),
            ("https://docker:2376", "TLS is not supported"),
            ("ssh://user@host", "only unix://"),
            ("npipe:////./pipe/docker_engine", "only unix://"),
            ("ftp://docker", "unknown scheme"),
            ("tcp://docker:0", "port must be"),
            ("tcp://docker:70000", "port must be"),
            ("tcp://docker:abc", "port must be"),
            ("tcp://docker:2375/api", "base path"),
            ("tcp://::1:2375", "brackets"),
            ("tcp://[::1", "unclosed"),
        ] {
            let error = DockerHost::parse(value).unwrap_err().to_string();
            assert!(error.contains(reason), "{value}: {error}");
            assert!(error.contains(value), "{value}: {error}");
        }
    }

    #[test]
    fn flag_wins_over_the_environment() {
        assert_eq!(
            DockerHost::resolve(Some("tcp://flag:1"), Some("tcp://env:2"), None).unwrap(),
            tcp("flag:1")
        );
        assert_eq!(
            DockerHost::resolve(None, Some("tcp://env:2"), None).unwrap(),
            tcp("env:2")
        );
        assert_eq!(
            DockerHost::resolve(None, None, None).unwrap(),
            DockerHost::default()
        );
        // The docker CLI treats an empty DOCKER_HOST as unset.
        assert_eq!(
            DockerHost::resolve(None, Some(""), None).unwrap(),
            DockerHost::default()
        );
    }

    #[test]
    fn tls_verify_refuses_tcp_but_not_the_socket() {
        let error = DockerHost::resolve(None, Some("tcp://env:2376"), Some("1")).unwrap_err();
        assert!(error.to_string().contains("DOCKER_TLS_VERIFY"), "{error}");
        assert_eq!(
            DockerHost::resolve(None, None, Some("1")).unwrap(),
            DockerHost::default()
        );
        assert_eq!(
            DockerHost::resolve(Some("tcp://a:1"), None, Some("")).unwrap(),
            tcp("a:1")
        );
    }

    #[test]
    fn display_round_trips() {
        for value in ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"] {
            assert_eq!(DockerHost::parse(value).unwrap().to_string(), value);
        }
    }
}
