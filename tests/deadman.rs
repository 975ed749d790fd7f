//! The daily backup's dead-man pings (`BACKUP_HEALTHCHECK_URL`) from the
//! real `potion-backup run`, against a local HTTP server: `/start`, then the
//! plain URL on success or `/fail` on failure; the secret path never logged.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Sandbox, run};

const BIN: &str = env!("CARGO_BIN_EXE_potion-backup");

/// A local server answering 200 to everything; its base URL and the paths asked.
fn server() -> (String, std::sync::mpsc::Receiver<String>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            tx.send(req.url().to_string()).ok();
            req.respond(tiny_http::Response::empty(200)).ok();
        }
    });
    (base, rx)
}

fn backup_run(sb: &Sandbox, data_mount: &Path, url: &str) -> Output {
    // From the environment, as the unit's root-only EnvironmentFile= gives it.
    let env = sb.write_env("");
    let mut c = sb.cmd(BIN);
    c.arg("--env")
        .arg(env)
        .arg("run")
        .env("BACKUP_HEALTHCHECK_URL", url)
        .env("DATA_MOUNT", data_mount)
        .env("BACKUP_DIR", sb.path().join("backups"))
        .env("BACKUP_SOURCES", sb.path().join("src"))
        .env("POTION_LOG", "debug");
    run(c)
}

#[test]
fn backup_run_pings_start_then_success_or_fail() {
    let (base, asked) = server();
    let url = format!("{base}/ping/secret-uuid");
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path().join("src")).unwrap();
    std::fs::write(sb.path().join("src/f"), b"x").unwrap();

    // `/` is a real mount point: the run succeeds.
    let out = backup_run(&sb, Path::new("/"), &url);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let paths: Vec<String> = asked.try_iter().collect();
    assert_eq!(paths, ["/ping/secret-uuid/start", "/ping/secret-uuid"]);

    // A data disk that is not mounted: the run fails, and says so.
    let absent = sb.path().join("no-data-disk");
    std::fs::create_dir_all(&absent).unwrap();
    let out = backup_run(&sb, &absent, &url);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let paths: Vec<String> = asked.try_iter().collect();
    assert_eq!(paths, ["/ping/secret-uuid/start", "/ping/secret-uuid/fail"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("secret-uuid"));

    // A ping server that is gone changes nothing about the run's outcome,
    // and its warning shows the host only.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone_url = format!("http://{}/ping/secret-uuid", gone.local_addr().unwrap());
    drop(gone);
    let out = backup_run(&sb, Path::new("/"), &gone_url);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dead-man ping to http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-uuid"), "{stderr}");
}
