//! Failures: the Docker Engine API down, slow, or answering garbage, and an output that
//! cannot be written (a full disk, a directory in the way). Each poll fails with a message
//! that says what happened, leaves the last good file exactly as it was (same bytes, same
//! inode, no temporary file beside it), and the next poll after the condition clears writes
//! the new content.
// Test code: helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use support::{
    assert_output, config_at, disk_full, docker_and_output, fixture, names_in, output_in_tempdir,
    tutorial_config, Behaviour, FakeDocker, TUTORIAL_FLAGS,
};
use swarm_discovery::{output, Poller};

/// The last good file, to check that a failed poll left it alone.
struct Kept {
    path: PathBuf,
    bytes: Vec<u8>,
    inode: u64,
}

impl Kept {
    fn now(path: &Path) -> Kept {
        Kept {
            path: path.to_path_buf(),
            bytes: fs::read(path).unwrap(),
            inode: fs::metadata(path).unwrap().ino(),
        }
    }

    /// Same bytes, same inode (not even rewritten), and nothing else in the directory.
    fn assert_untouched(&self, context: &str) {
        assert_eq!(fs::read(&self.path).unwrap(), self.bytes, "{context}");
        assert_eq!(
            fs::metadata(&self.path).unwrap().ino(),
            self.inode,
            "{context}"
        );
        let name = self
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(names_in(self.path.parent().unwrap()), [name], "{context}");
    }
}

/// A poller that has written the recorded swarm's file; `extra` adds flags.
async fn poller_with_good_file(
    docker: &FakeDocker,
    output: &Path,
    extra: &[&str],
) -> (Poller, Kept) {
    let mut poller = Poller::new(tutorial_config(docker, output, extra));
    poller.poll().await.unwrap();
    assert_output(output, "published.json");
    (poller, Kept::now(output))
}

/// After the failures, a changed swarm: the next poll must write it.
async fn assert_recovers(docker: &FakeDocker, poller: &mut Poller, output: &Path) {
    docker.set(Behaviour::serve("tasks-scaled.json"));
    poller.poll().await.unwrap();
    assert_output(output, "published-scaled.json");
}

fn reply(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Behaviour {
    Behaviour::Reply {
        status,
        content_type,
        body: body.into(),
    }
}

fn tasks_reply(tasks: impl Into<String>) -> Behaviour {
    Behaviour::Serve {
        tasks: tasks.into(),
        services: fixture("services.json"),
    }
}

fn services_reply(services: impl Into<String>) -> Behaviour {
    Behaviour::Serve {
        tasks: fixture("tasks.json"),
        services: services.into(),
    }
}

#[tokio::test]
async fn api_errors_keep_the_last_good_file_and_the_next_poll_recovers() {
    let (docker, _dir, output) = docker_and_output(Behaviour::recorded());
    let (mut poller, kept) =
        poller_with_good_file(&docker, &output, &["--api-timeout", "1s"]).await;

    // Each with the messages it may give (any one of them).
    for (behaviour, expected) in [
        (
            Behaviour::Fail(500),
            &["500 Internal Server Error: rpc error: code = Unavailable"][..],
        ),
        (Behaviour::Fail(503), &["503 Service Unavailable"]),
        // Closed before or after the request arrived.
        (
            Behaviour::Close,
            &[
                "connection closed before message completed",
                "Connection reset by peer",
            ],
        ),
        (Behaviour::Hang, &["no answer within 1s"]),
    ] {
        docker.set(behaviour.clone());
        let error = poller.poll().await.unwrap_err().to_string();
        assert!(error.starts_with("Docker Engine API GET /"), "{error}");
        assert!(
            expected.iter().any(|part| error.contains(part)),
            "{behaviour:?}: {error}"
        );
        kept.assert_untouched(&format!("{behaviour:?}"));
    }
    assert_recovers(&docker, &mut poller, &output).await;
}

#[tokio::test]
async fn a_slow_api_times_out_at_the_api_timeout_and_a_slow_but_timely_one_is_fine() {
    let (docker, _dir, output) = docker_and_output(Behaviour::recorded());
    let (mut poller, kept) =
        poller_with_good_file(&docker, &output, &["--api-timeout", "1s"]).await;
    let scaled = || Box::new(Behaviour::serve("tasks-scaled.json"));

    for (behaviour, expected) in [
        // The answer comes, but too late.
        (
            Behaviour::Delayed(Duration::from_secs(5), scaled()),
            "no answer within 1s",
        ),
        // The status line at once, then the body a byte at a time: the same deadline.
        (
            Behaviour::Trickle,
            "the response body did not arrive within 1s",
        ),
    ] {
        docker.set(behaviour.clone());
        let started = Instant::now();
        let error = poller.poll().await.unwrap_err().to_string();
        let took = started.elapsed();
        assert!(error.contains(expected), "{behaviour:?}: {error}");
        // The poll gives up at the timeout, not when the daemon is done.
        assert!(
            took >= Duration::from_millis(950) && took < Duration::from_secs(4),
            "{behaviour:?} took {took:?}"
        );
        kept.assert_untouched(&format!("{behaviour:?}"));
    }

    // Slow, but within the limit: not a failure.
    docker.set(Behaviour::Delayed(Duration::from_millis(100), scaled()));
    poller.poll().await.unwrap();
    assert_output(&output, "published-scaled.json");
}

#[tokio::test]
async fn garbage_answers_keep_the_last_good_file_and_the_log_says_what_came() {
    let (docker, _dir, output) = docker_and_output(Behaviour::recorded());
    let (mut poller, kept) =
        poller_with_good_file(&docker, &output, &["--api-timeout", "2s"]).await;

    let tasks = fixture("tasks.json");
    let html = "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body>\
                <h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is \
                successfully installed.</p></body></html>\n";
    let proxy_page = format!(
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad \
         Gateway</h1></center>\r\n{}</body>\r\n</html>\r\n",
        "<!-- padding -->\r\n".repeat(3000)
    );
    let wrong_slot = tasks.replacen("\"Slot\": 3,", "\"Slot\": \"three\",", 1);
    assert_ne!(wrong_slot, tasks);
    let wrong_ports =
        fixture("services.json").replacen("\"Ports\": [", "\"Ports\": \"6767\", \"Unused\": [", 1);
    for (behaviour, expected) in [
        // A web server where the daemon should be, answering 200 with a page.
        (
            reply(200, "text/html", html),
            &[
                "unexpected response body (text/html, 192 bytes): expected value at line 1 \
                 column 1; it starts: <!DOCTYPE html> <html><head><title>Welcome to nginx!",
            ][..],
        ),
        // A proxy's error page, 54 KiB of it: the log quotes its start, on one line.
        (
            reply(502, "text/html", proxy_page),
            &["502 Bad Gateway: <html> <head><title>502 Bad Gateway</title></head> <body>"],
        ),
        // Cut off half-way.
        (
            tasks_reply(&tasks[..tasks.len() / 2]),
            &["GET /tasks failed: unexpected response body (application/json, ", "EOF while parsing"],
        ),
        (
            reply(200, "application/json", ""),
            &["(application/json, 0 bytes): EOF while parsing a value at line 1 column 0; it starts: (empty)"],
        ),
        // Well-formed JSON of the wrong shape or types.
        (
            tasks_reply(r#"{"message": "ok"}"#),
            &["GET /tasks failed", "invalid type: map, expected a sequence"],
        ),
        (
            tasks_reply(wrong_slot),
            &["GET /tasks failed", "invalid type: string \"three\", expected u64"],
        ),
        (
            services_reply(r#"[{"ID": 42}]"#),
            &["GET /services failed", "invalid type: integer `42`, expected a string"],
        ),
        (
            services_reply(wrong_ports),
            &["GET /services failed", "invalid type: string \"6767\", expected a sequence"],
        ),
        (
            reply(200, "application/json", "\"hello\""),
            &["invalid type: string \"hello\", expected a sequence"],
        ),
        // Bytes that are not text at all.
        (
            reply(
                200,
                "application/octet-stream",
                Bytes::from_static(b"\xff\xfe\x00\x01garbage\x7f"),
            ),
            &["(application/octet-stream, 12 bytes): expected value at line 1 column 1; it starts: \u{fffd}\u{fffd} garbage"],
        ),
    ] {
        docker.set(behaviour.clone());
        let error = poller.poll().await.unwrap_err().to_string();
        for part in expected {
            assert!(error.contains(part), "{part}\nnot in\n{error}");
        }
        // One readable line, however big the body.
        assert!(error.len() < 400 && !error.contains('\n'), "{error}");
        kept.assert_untouched(&error);
    }
    // Well-formed JSON is located by line and column, without quoting its start.
    docker.set(services_reply(r#"[{"ID": 42}]"#));
    let error = poller.poll().await.unwrap_err().to_string();
    assert_eq!(
        error,
        "Docker Engine API GET /services failed: unexpected response body (application/json, \
         12 bytes): invalid type: integer `42`, expected a string at line 1 column 10"
    );
    assert_recovers(&docker, &mut poller, &output).await;
}

#[tokio::test]
async fn a_huge_body_is_cut_off_at_the_size_limit() {
    let (docker, _dir, output) = docker_and_output(Behaviour::recorded());
    let limit = 1024 * 1024;
    let mut config = tutorial_config(&docker, &output, &[]);
    config.max_response_bytes = limit;
    let mut poller = Poller::new(config);
    poller.poll().await.unwrap();
    let kept = Kept::now(&output);

    // A body without end: refused once the limit is reached, long before the 30 s timeout.
    docker.set(Behaviour::Endless);
    let started = Instant::now();
    let error = poller.poll().await.unwrap_err().to_string();
    assert!(
        error.contains("200 OK: the response body is larger than 1 MiB"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{error}");
    kept.assert_untouched("endless body");

    // One byte over the limit, then exactly at it (the recorded tasks padded with spaces,
    // which JSON allows).
    let padded = |size: usize| {
        let tasks = fixture("tasks-scaled.json");
        format!("{tasks}{}", " ".repeat(size - tasks.len()))
    };
    docker.set(tasks_reply(padded(limit + 1)));
    let error = poller.poll().await.unwrap_err().to_string();
    assert!(error.contains("larger than 1 MiB"), "{error}");
    kept.assert_untouched("one byte too many");
    docker.set(tasks_reply(padded(limit)));
    poller.poll().await.unwrap();
    assert_output(&output, "published-scaled.json");
}

#[tokio::test]
async fn a_daemon_that_is_down_is_retried_until_it_is_back() {
    // Over TCP: nothing listens on the port, then the daemon comes back on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = port.local_addr().unwrap();
    drop(port);
    let (dir, output) = output_in_tempdir();
    let host = format!("tcp://{address}");
    let mut poller = Poller::new(config_at(&host, &output, &TUTORIAL_FLAGS));
    let error = poller.poll().await.unwrap_err().to_string();
    assert!(
        error.contains(&format!("cannot connect to tcp://{address}: ")),
        "{error}"
    );
    assert!(error.contains("Connection refused"), "{error}");
    assert!(!output.exists());
    let docker = FakeDocker::tcp_at(address, Behaviour::recorded());
    poller.poll().await.unwrap();
    assert_output(&output, "published.json");
    drop(docker);

    // Over the unix socket: no socket yet, the daemon starts, stops (its socket file stays
    // behind), and starts again.
    let output = dir.path().join("unix/swarm-endpoints.json");
    let socket = dir.path().join("docker.sock");
    let host = format!("unix://{}", socket.display());
    let mut poller = Poller::new(config_at(&host, &output, &TUTORIAL_FLAGS));
    let error = poller.poll().await.unwrap_err().to_string();
    let unreachable = format!("cannot connect to unix://{}: ", socket.display());
    assert!(error.contains(&unreachable), "{error}");
    assert!(error.contains("No such file or directory"), "{error}");
    let docker = FakeDocker::unix_at(&socket, Behaviour::recorded());
    poller.poll().await.unwrap();
    assert_output(&output, "published.json");
    let kept = Kept::now(&output);
    drop(docker);
    let error = poller.poll().await.unwrap_err().to_string();
    assert!(error.contains(&unreachable), "{error}");
    assert!(error.contains("Connection refused"), "{error}");
    kept.assert_untouched("daemon stopped");
    let docker = FakeDocker::unix_at(&socket, Behaviour::serve("tasks-scaled.json"));
    poller.poll().await.unwrap();
    assert_output(&output, "published-scaled.json");
    drop(docker);
}

#[tokio::test]
async fn a_full_disk_keeps_the_last_good_file_and_the_next_poll_writes_the_new_one() {
    let (docker, dir, output) = docker_and_output(Behaviour::recorded());
    let (mut poller, kept) = poller_with_good_file(&docker, &output, &[]).await;

    // The swarm changes while the disk is full.
    docker.set(Behaviour::serve("tasks-scaled.json"));
    poller.set_write_content(disk_full);
    for _ in 0..2 {
        let error = poller.poll().await.unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "cannot write a temporary file for {}: No space left on device (os error 28)",
                output.display()
            )
        );
        kept.assert_untouched("disk full");
    }
    // What the loop does with it: log, and carry on.
    assert!(!poller.poll_and_log().await);
    kept.assert_untouched("disk full, logged");

    // Space again.
    poller.set_write_content(output::write_all);
    poller.poll().await.unwrap();
    assert_output(&output, "published-scaled.json");
    assert_eq!(names_in(dir.path()), ["swarm-endpoints.json"]);
}

#[tokio::test]
async fn a_directory_in_place_of_the_output_file_fails_the_poll_and_recovers() {
    let (docker, dir, output) = docker_and_output(Behaviour::recorded());
    fs::create_dir(&output).unwrap();
    let mut poller = Poller::new(tutorial_config(&docker, &output, &[]));
    let error = poller.poll().await.unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "cannot replace {}: Is a directory (os error 21)",
            output.display()
        )
    );
    // The rename failed, and its temporary file is gone.
    assert_eq!(names_in(dir.path()), ["swarm-endpoints.json"]);
    assert!(output.is_dir());
    fs::remove_dir(&output).unwrap();
    poller.poll().await.unwrap();
    assert_output(&output, "published.json");
}

#[tokio::test]
async fn an_output_directory_that_cannot_be_created_fails_the_poll_and_recovers() {
    let (docker, dir, _) = docker_and_output(Behaviour::recorded());
    let blocker = dir.path().join("etc");
    fs::write(&blocker, "a file where the directory should be").unwrap();
    let output = blocker.join("swarm-endpoints.json");
    let mut poller = Poller::new(tutorial_config(&docker, &output, &[]));
    let error = poller.poll().await.unwrap_err();
    assert!(error.to_string().contains("create directory"), "{error}");
    // Once the obstacle is gone, the next poll writes the file.
    fs::remove_file(&blocker).unwrap();
    poller.poll().await.unwrap();
    assert_output(&output, "published.json");
}
