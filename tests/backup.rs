//! Binary-level tests of `potion-backup`: real runs on temp folders.
#![allow(clippy::disallowed_methods)] // spawns the binary under test and kills it mid-run

mod common;
#[path = "backup/fidelity.rs"]
mod fidelity;
#[path = "backup/hostile.rs"]
mod hostile;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Sandbox, is_root, run};
use potion_runner::files::backup::{
    BackupOutcome, Manifest, ManifestEntry, SnapshotIndex, VerifyRecord,
};
use potion_runner::files::read_json;
use potion_runner::process::Cmd;

const BIN: &str = env!("CARGO_BIN_EXE_potion-backup");

/// A sandbox with a source tree and a backup folder; `DATA_MOUNT` is `/`,
/// a real mount point, so the mount check passes honestly.
struct Bk {
    sb: Sandbox,
    env: PathBuf,
    data_mount: PathBuf,
    backup_dir: PathBuf,
    extra: Vec<(String, String)>,
}

impl Bk {
    fn new() -> Bk {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.path().join("src")).unwrap();
        let env = sb.write_env("");
        let backup_dir = sb.path().join("backups");
        Bk {
            sb,
            env,
            data_mount: PathBuf::from("/"),
            backup_dir,
            extra: Vec::new(),
        }
    }

    fn src(&self) -> PathBuf {
        self.sb.path().join("src")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.sb.cmd(BIN);
        c.arg("--env").arg(&self.env).args(args);
        c.env("DATA_MOUNT", &self.data_mount)
            .env("BACKUP_DIR", &self.backup_dir)
            .env("BACKUP_SOURCES", self.src());
        for (k, v) in &self.extra {
            c.env(k, v);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        run(self.cmd(args))
    }

    /// Runs and asserts the exit code, showing stderr on failure.
    fn ok(&self, args: &[&str], code: i32) -> Output {
        let o = self.run(args);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{args:?}\nstdout: {}\nstderr: {}",
            text(&o.stdout),
            text(&o.stderr)
        );
        o
    }

    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.backup_dir.join("snapshots"))
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// Where the source tree lives inside snapshot `id`.
    fn in_snap(&self, id: &str) -> PathBuf {
        self.backup_dir
            .join("snapshots")
            .join(id)
            .join(self.src().strip_prefix("/").unwrap())
    }

    /// The manifest of `id`, read through the library's stream into the
    /// schema-1 shape the assertions use.
    fn manifest(&self, id: &str) -> Manifest {
        use potion_runner::backup::manifest::{Layout, escape_path, open};
        let (h, records) = open(&Layout::new(&self.backup_dir), id).unwrap();
        let files = records
            .map(|r| {
                let r = r.unwrap();
                let m = r.meta;
                ManifestEntry {
                    path: r.shown(),
                    kind: r.kind,
                    size: m.size,
                    mtime: m.mtime,
                    mtime_ns: m.mtime_ns,
                    mode: m.mode,
                    uid: m.uid,
                    gid: m.gid,
                    ctime: m.ctime,
                    ctime_ns: m.ctime_ns,
                    ino: m.ino,
                    blake3: r.hex(),
                    target: r.target.map(|t| escape_path(OsStr::from_bytes(&t))),
                }
            })
            .collect();
        Manifest {
            schema: h.schema,
            id: h.id,
            started_at: h.started_at,
            finished_at: h.finished_at,
            sources: h.sources,
            totals: h.totals,
            files,
        }
    }

    fn outcome(&self) -> BackupOutcome {
        read_json(&self.sb.state_dir().join("last_backup.json")).unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn ino(p: &Path) -> u64 {
    std::fs::symlink_metadata(p).unwrap().ino()
}

/// Every final-named snapshot folder has a manifest that parses and lists it.
fn assert_no_incomplete_snapshot(bk: &Bk) {
    for name in bk.ids() {
        if name.starts_with('.') {
            continue;
        }
        let m = bk.manifest(&name);
        assert_eq!(m.id, name);
        assert!(m.totals.files > 0, "{name} has an empty manifest");
    }
}

#[test]
fn unchanged_files_share_inodes_and_changes_are_exact() {
    let bk = Bk::new();
    let s = bk.src();
    write(&s.join("keep.txt"), b"unchanged");
    write(&s.join("edit.txt"), b"version 1");
    write(&s.join("sneaky.txt"), b"aaaa");
    write(&s.join("dir/gone.txt"), b"delete me");
    std::fs::create_dir_all(s.join("empty")).unwrap();
    std::os::unix::fs::symlink("keep.txt", s.join("link")).unwrap();
    std::fs::set_permissions(s.join("keep.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    if is_root() {
        // Owners other than the runner's are kept (root only can give files away).
        std::os::unix::fs::chown(s.join("keep.txt"), Some(1234), Some(2345)).unwrap();
        std::os::unix::fs::lchown(s.join("link"), Some(1234), Some(2345)).unwrap();
    }
    bk.ok(&["run"], 0);
    let first = bk.ids()[0].clone();

    write(&s.join("edit.txt"), b"version 2 longer");
    // Same size and the old mtime restored: only the ctime tells the change.
    let old_mtime = std::fs::metadata(s.join("sneaky.txt"))
        .unwrap()
        .modified()
        .unwrap();
    write(&s.join("sneaky.txt"), b"bbbb");
    std::fs::File::options()
        .write(true)
        .open(s.join("sneaky.txt"))
        .unwrap()
        .set_modified(old_mtime)
        .unwrap();
    std::fs::remove_file(s.join("dir/gone.txt")).unwrap();
    write(&s.join("dir/new.txt"), b"added");
    // No subcommand means `run`.
    bk.ok(&[], 0);
    let ids = bk.ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let second = ids[1].clone();
    let (a, b) = (bk.in_snap(&first), bk.in_snap(&second));

    assert_eq!(
        ino(&a.join("keep.txt")),
        ino(&b.join("keep.txt")),
        "unchanged file was copied, not linked"
    );
    assert_ne!(ino(&a.join("edit.txt")), ino(&b.join("edit.txt")));
    assert_eq!(
        std::fs::read(b.join("edit.txt")).unwrap(),
        b"version 2 longer"
    );
    assert_eq!(std::fs::read(a.join("edit.txt")).unwrap(), b"version 1");
    assert_eq!(std::fs::read(b.join("sneaky.txt")).unwrap(), b"bbbb");
    assert_eq!(std::fs::read(a.join("sneaky.txt")).unwrap(), b"aaaa");
    assert!(a.join("dir/gone.txt").exists() && !b.join("dir/gone.txt").exists());
    assert_eq!(std::fs::read(b.join("dir/new.txt")).unwrap(), b"added");
    assert!(b.join("empty").is_dir());
    assert_eq!(
        std::fs::read_link(b.join("link")).unwrap(),
        Path::new("keep.txt")
    );
    let (src_meta, snap_meta) = (
        std::fs::metadata(s.join("keep.txt")).unwrap(),
        std::fs::metadata(b.join("keep.txt")).unwrap(),
    );
    assert_eq!(snap_meta.mode() & 0o7777, 0o640);
    assert_eq!(
        (snap_meta.mtime(), snap_meta.mtime_nsec()),
        (src_meta.mtime(), src_meta.mtime_nsec())
    );
    assert_eq!(
        (snap_meta.uid(), snap_meta.gid()),
        (src_meta.uid(), src_meta.gid())
    );
    if is_root() {
        assert_eq!((snap_meta.uid(), snap_meta.gid()), (1234, 2345));
        let l = std::fs::symlink_metadata(b.join("link")).unwrap();
        assert_eq!((l.uid(), l.gid()), (1234, 2345));
    }
    let dir_meta = (
        std::fs::metadata(s.join("dir")).unwrap(),
        std::fs::metadata(b.join("dir")).unwrap(),
    );
    assert_eq!(
        dir_meta.0.mtime(),
        dir_meta.1.mtime(),
        "folder mtime not kept"
    );

    let m = bk.manifest(&second);
    let by_path: BTreeMap<&str, _> = m.files.iter().map(|e| (e.path.as_str(), e)).collect();
    let key = |n: &str| format!("{}/{n}", s.strip_prefix("/").unwrap().display());
    let edit = by_path[key("edit.txt").as_str()];
    assert_eq!(
        edit.blake3.as_deref(),
        Some(blake3::hash(b"version 2 longer").to_hex().as_str())
    );
    assert_eq!(edit.size, 16);
    assert!(!by_path.contains_key(key("dir/gone.txt").as_str()));
    assert_eq!(
        m.totals.new_files, 3,
        "edit, sneaky and new are new: {:?}",
        m.totals
    );
    assert_eq!(m.totals.new_bytes, 16 + 4 + 5);

    let o = bk.outcome();
    assert_eq!(
        (o.status.as_str(), o.id.as_deref(), o.last_ok_id.as_deref()),
        ("ok", Some(second.as_str()), Some(second.as_str()))
    );
    let index: SnapshotIndex = read_json(&bk.sb.state_dir().join("backups.json")).unwrap();
    assert_eq!(
        index
            .snapshots
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        [second.clone(), first.clone()]
    );
    let progress: potion_runner::files::backup::BackupProgress =
        read_json(&bk.sb.state_dir().join("backup-progress.json")).unwrap();
    assert_eq!(
        (progress.phase.as_str(), progress.id.as_str()),
        ("done", second.as_str())
    );
    // The final counts are the snapshot's, linked files included.
    let t = bk.manifest(&second).totals;
    assert_eq!(
        (
            progress.files_done,
            progress.files_total,
            progress.bytes_done
        ),
        (t.files, t.files, t.bytes)
    );
    let list = text(&bk.ok(&["list"], 0).stdout);
    assert!(list.contains(&first) && list.contains(&second), "{list}");
}

#[test]
fn excludes_special_files_and_non_utf8_names() {
    let mut bk = Bk::new();
    let s = bk.src();
    write(&s.join("a.tmp"), b"skip");
    write(&s.join("cache/big"), b"skip");
    write(&s.join("100%.txt"), b"percent");
    let odd = s.join(OsStr::from_bytes(b"caf\xe9-\xff.bin"));
    write(&odd, b"latin-1 name");
    let fifo =
        std::ffi::CString::new(s.join("pipe").into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    bk.extra.push((
        "BACKUP_EXCLUDES".into(),
        format!("*.tmp,{}/cache", s.display()),
    ));
    let o = bk.ok(&["run"], 3);
    assert!(
        text(&o.stderr).contains("pipe skipped: special file (fifo)"),
        "{}",
        text(&o.stderr)
    );
    let out = bk.outcome();
    assert_eq!(out.status, "warnings");
    assert!(out.warnings.iter().any(|w| w.contains("pipe")));
    let id = bk.ids()[0].clone();
    let snap = bk.in_snap(&id);
    assert!(
        !snap.join("a.tmp").exists() && !snap.join("cache").exists() && !snap.join("pipe").exists()
    );
    assert_eq!(
        std::fs::read(snap.join(OsStr::from_bytes(b"caf\xe9-\xff.bin"))).unwrap(),
        b"latin-1 name"
    );
    let m = bk.manifest(&id);
    let paths: Vec<&str> = m.files.iter().map(|e| e.path.as_str()).collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/caf%E9-%FF.bin")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("/100%25.txt")),
        "{paths:?}"
    );
    bk.ok(&["verify", "latest"], 0);

    // Restore by the escaped name (what a Telegram user can type) and by raw bytes.
    let esc = format!("{}/caf%E9-%FF.bin", s.display());
    let to = bk.sb.path().join("out");
    bk.ok(&["restore", &id, &esc, "--to", to.to_str().unwrap()], 0);
    let restored = to
        .join(s.strip_prefix("/").unwrap())
        .join(OsStr::from_bytes(b"caf\xe9-\xff.bin"));
    assert_eq!(std::fs::read(&restored).unwrap(), b"latin-1 name");
    let mut c = bk.cmd(&["restore", &id]);
    c.arg(&odd).arg("--to").arg(bk.sb.path().join("out2"));
    let o = run(c);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn flipped_byte_missing_and_extra_files_fail_verify_by_name() {
    let bk = Bk::new();
    for i in 0..20 {
        write(
            &bk.src().join(format!("f{i:02}")),
            format!("file {i} ").repeat(1000).as_bytes(),
        );
    }
    bk.ok(&["run"], 0);
    let id = bk.ids()[0].clone();
    bk.ok(&["verify"], 0);
    let snap = bk.in_snap(&id);
    let victim = snap.join("f07");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[1234] ^= 0x01;
    std::fs::write(&victim, &bytes).unwrap();
    std::fs::remove_file(snap.join("f11")).unwrap();
    write(&snap.join("intruder"), b"?");
    let o = bk.ok(&["verify", &id], 1);
    let out = text(&o.stdout);
    assert!(
        out.contains("changed: ") && out.contains("/f07: blake3"),
        "{out}"
    );
    assert!(out.contains("missing: ") && out.contains("/f11"), "{out}");
    assert!(
        out.contains("extra: ") && out.contains("/intruder"),
        "{out}"
    );
    assert!(!out.contains("/f08"), "{out}");
    let rec: VerifyRecord =
        serde_json::from_slice(&bk.ok(&["verify", "--json"], 1).stdout).unwrap();
    assert_eq!((rec.last.status.as_str(), rec.last.problems), ("failed", 3));
    let index: SnapshotIndex = read_json(&bk.sb.state_dir().join("backups.json")).unwrap();
    assert_eq!(index.snapshots[0].verify.as_ref().unwrap().status, "failed");
    // The bot reads the damaged files' names from the index.
    let named = &index.last_verify.as_ref().unwrap().damaged;
    assert_eq!(named.len(), 3, "{named:?}");
    for f in ["/f07", "/f11", "/intruder"] {
        assert!(named.iter().any(|p| p.ends_with(f)), "{f} in {named:?}");
    }
    assert!(text(&bk.ok(&["list"], 0).stdout).contains("failed"));

    // The next run copies the damaged and missing files afresh instead of
    // linking the damage forward, and its snapshot is clean.
    bk.ok(&["run"], 0);
    let next = bk.ids()[1].clone();
    let fresh = bk.in_snap(&next);
    assert_ne!(ino(&fresh.join("f07")), ino(&victim));
    assert_eq!(
        std::fs::read(fresh.join("f07")).unwrap(),
        std::fs::read(bk.src().join("f07")).unwrap()
    );
    assert_eq!(
        ino(&fresh.join("f08")),
        ino(&snap.join("f08")),
        "healthy files are still linked"
    );
    bk.ok(&["verify", &next], 0);
}

/// A sample verify that does not hash a damaged file again keeps the earlier
/// finding: the snapshot did not heal, and the next run must not link the
/// damage forward.
#[test]
fn damage_found_earlier_stands_until_its_file_is_hashed_again() {
    let bk = Bk::new();
    for i in 0..20 {
        write(
            &bk.src().join(format!("f{i:02}")),
            format!("file {i}").as_bytes(),
        );
    }
    bk.ok(&["run"], 0);
    let id = bk.ids()[0].clone();
    // A victim outside the one bucket `--sample 1` hashes next: bucket 0, or
    // when no file is there, the first bucket after it that holds one.
    let m = bk.manifest(&id);
    let bucket_of = |e: &&potion_runner::files::backup::ManifestEntry| {
        potion_runner::backup::sample::bucket(&e.path)
    };
    let hashed_next = m
        .files
        .iter()
        .filter(|e| e.blake3.is_some())
        .map(|e| bucket_of(&e))
        .min()
        .unwrap();
    let victim = m
        .files
        .iter()
        .find(|e| e.blake3.is_some() && bucket_of(e) != hashed_next)
        .unwrap();
    let name = Path::new(&victim.path).file_name().unwrap().to_owned();
    let on_disk = bk.in_snap(&id).join(&name);
    let mut bytes = std::fs::read(&on_disk).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&on_disk, &bytes).unwrap();

    bk.ok(&["verify"], 1);
    let o = bk.ok(&["verify", "--sample", "1", "--json"], 1);
    let rec: VerifyRecord = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rec.last.status, "failed");
    assert!(
        rec.problems.iter().any(|p| p.path == victim.path),
        "{:?}",
        rec.problems
    );
    assert!(rec.last.checked_files >= 1, "{:?}", rec.last);

    bk.ok(&["run"], 0);
    let next = bk.ids()[1].clone();
    assert_ne!(ino(&bk.in_snap(&next).join(&name)), ino(&on_disk));
    bk.ok(&["verify", &next], 0);
}

#[test]
fn sample_verify_rotates_over_every_file() {
    let bk = Bk::new();
    for i in 0..200 {
        write(
            &bk.src().join(format!("f{i:03}")),
            format!("{i}").as_bytes(),
        );
    }
    bk.ok(&["run"], 0);
    let mut total = 0;
    for round in 0..4 {
        let rec: VerifyRecord =
            serde_json::from_slice(&bk.ok(&["verify", "--sample", "25", "--json"], 0).stdout)
                .unwrap();
        assert_eq!(rec.last.sample_percent, Some(25.0));
        assert!(
            rec.last.checked_files > 20 && rec.last.checked_files < 80,
            "{:?}",
            rec.last
        );
        total += rec.last.checked_files;
        assert!(rec.last.coverage_percent.is_some_and(|c| c > 0.0));
        if round == 3 {
            assert_eq!(rec.last.coverage_percent, Some(100.0));
        }
    }
    assert_eq!(total, 200, "four 25% samples check every file exactly once");
    let o = bk.run(&["verify", "--sample", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--sample"), "{}", text(&o.stderr));
}

/// With very few files a 15 % sample may cover no file's bucket; it still
/// hashes one, and the rotation reaches every file.
#[test]
fn a_sample_of_few_files_always_hashes_one() {
    let bk = Bk::new();
    write(&bk.src().join("a"), b"a");
    write(&bk.src().join("b"), b"b");
    bk.ok(&["run"], 0);
    let mut last = None;
    for _ in 0..2 {
        let rec: VerifyRecord =
            serde_json::from_slice(&bk.ok(&["verify", "--sample", "15", "--json"], 0).stdout)
                .unwrap();
        assert!(rec.last.checked_files >= 1, "{:?}", rec.last);
        last = Some(rec);
    }
    let rec = last.unwrap();
    assert_eq!(rec.last.coverage_percent, Some(100.0), "{:?}", rec.last);
}

#[test]
fn restore_is_byte_exact_and_never_overwrites_unless_asked() {
    let bk = Bk::new();
    let s = bk.src();
    let big: Vec<u8> = (0..2_500_000u32).map(|i| (i * 7 % 256) as u8).collect();
    write(&s.join("app/data.bin"), &big);
    write(&s.join("app/conf/.env"), b"KEY=1\n");
    std::fs::set_permissions(
        s.join("app/conf/.env"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    bk.ok(&["run"], 0);
    let id = bk.ids()[0].clone();
    let app = s.join("app");

    let o = bk.ok(&["restore", "latest", app.to_str().unwrap()], 0);
    let staged = bk
        .backup_dir
        .join("restored")
        .join(&id)
        .join(app.strip_prefix("/").unwrap());
    assert!(
        text(&o.stdout).contains(&staged.display().to_string()),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(std::fs::read(staged.join("data.bin")).unwrap(), big);
    // Copies keep their sources' folder modes, so only root may enter them.
    for private in ["snapshots", "manifests", "restored"] {
        let m = std::fs::metadata(bk.backup_dir.join(private)).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o700, "{private}");
    }
    assert_eq!(std::fs::read(staged.join("conf/.env")).unwrap(), b"KEY=1\n");
    assert_eq!(
        std::fs::metadata(staged.join("conf/.env")).unwrap().mode() & 0o777,
        0o600
    );

    // A second restore to the same place refuses and changes nothing.
    std::fs::write(staged.join("conf/.env"), b"local edit").unwrap();
    let o = bk.ok(&["restore", &id, app.to_str().unwrap()], 1);
    assert!(
        text(&o.stderr).contains("--overwrite"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        std::fs::read(staged.join("conf/.env")).unwrap(),
        b"local edit"
    );

    // Live restore over the source only with --overwrite.
    std::fs::write(s.join("app/conf/.env"), b"broken").unwrap();
    let env_path = s.join("app/conf/.env");
    bk.ok(
        &["restore", &id, env_path.to_str().unwrap(), "--to", "/"],
        1,
    );
    assert_eq!(std::fs::read(&env_path).unwrap(), b"broken");
    bk.ok(
        &[
            "restore",
            &id,
            env_path.to_str().unwrap(),
            "--to",
            "/",
            "--overwrite",
        ],
        0,
    );
    assert_eq!(std::fs::read(&env_path).unwrap(), b"KEY=1\n");

    let inside = bk.backup_dir.join("snapshots").join(&id);
    let o = bk.ok(
        &[
            "restore",
            &id,
            env_path.to_str().unwrap(),
            "--to",
            inside.to_str().unwrap(),
            "--overwrite",
        ],
        1,
    );
    assert!(
        text(&o.stderr).contains("restore somewhere else"),
        "{}",
        text(&o.stderr)
    );
    bk.ok(&["verify", &id], 0);
    for bad in ["/etc/../etc/passwd", "/nope/not-there"] {
        let o = bk.ok(&["restore", &id, bad], 1);
        assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
    }
    // A damaged snapshot file is refused, not restored.
    let snap_file = bk.in_snap(&id).join("app/data.bin");
    let mut bytes = std::fs::read(&snap_file).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&snap_file, &bytes).unwrap();
    let to = bk.sb.path().join("elsewhere");
    let o = bk.ok(
        &[
            "restore",
            &id,
            snap_file_key(&bk, "app/data.bin").as_str(),
            "--to",
            to.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        text(&o.stderr).contains("does not match its manifest"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        !to.join(s.strip_prefix("/").unwrap())
            .join("app/data.bin")
            .exists()
    );
}

fn snap_file_key(bk: &Bk, rel: &str) -> String {
    format!("{}/{rel}", bk.src().display())
}

#[test]
fn refuses_when_the_data_disk_is_not_mounted_or_locked() {
    let mut bk = Bk::new();
    write(&bk.src().join("f"), b"x");
    bk.ok(&["run"], 0);
    let good = bk.outcome();
    bk.data_mount = bk.sb.path().join("no-data-disk");
    std::fs::create_dir_all(&bk.data_mount).unwrap();
    bk.backup_dir = bk.data_mount.join("backups");
    let o = bk.ok(&["run"], 1);
    assert!(
        text(&o.stderr).contains("is not mounted"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        !bk.backup_dir.exists(),
        "wrote into an unmounted data folder"
    );
    let out = bk.outcome();
    assert_eq!(out.status, "failed");
    assert!(out.error.unwrap().contains("not mounted"));
    // The last good backup is still known while the disk is away.
    assert_eq!(
        (out.last_ok_id, out.last_ok_at),
        (good.last_ok_id, good.last_ok_at)
    );

    let bk = Bk::new();
    write(&bk.src().join("f"), b"x");
    std::fs::create_dir_all(&bk.backup_dir).unwrap();
    let dir = potion_runner::backup::at::Dir::open(&bk.backup_dir).unwrap();
    let held = potion_runner::backup::lock::try_run(&dir).unwrap();
    let o = bk.ok(&["run"], 1);
    assert!(
        text(&o.stderr).contains("another backup is running"),
        "{}",
        text(&o.stderr)
    );
    drop(held);
    bk.ok(&["run"], 0);
}

#[test]
fn prune_keeps_newest_and_newest_verified_and_dry_run_deletes_nothing() {
    let mut bk = Bk::new();
    write(&bk.src().join("f"), b"x");
    for _ in 0..3 {
        bk.ok(&["run"], 0);
    }
    let ids = bk.ids();
    assert_eq!(ids.len(), 3);
    bk.ok(&["verify", &ids[0]], 0);
    for (k, v) in [
        ("BACKUP_KEEP_DAILY", "1"),
        ("BACKUP_KEEP_WEEKLY", "0"),
        ("BACKUP_KEEP_MONTHLY", "0"),
    ] {
        bk.extra.push((k.into(), v.into()));
    }
    let out = text(&bk.ok(&["prune", "--dry-run"], 0).stdout);
    assert!(out.contains(&format!("would delete {}", ids[1])), "{out}");
    assert!(
        out.contains(&format!("keep {}: newest verified", ids[0])),
        "{out}"
    );
    assert_eq!(bk.ids(), ids);
    let out = text(&bk.ok(&["prune"], 0).stdout);
    assert!(out.contains(&format!("deleted {}", ids[1])), "{out}");
    assert_eq!(bk.ids(), [ids[0].clone(), ids[2].clone()]);
    let manifests = bk.backup_dir.join("manifests");
    assert!(manifests.join(format!("{}.manifest", ids[0])).is_file());
    assert!(!manifests.join(format!("{}.manifest", ids[1])).exists());
    let index: SnapshotIndex = read_json(&bk.sb.state_dir().join("backups.json")).unwrap();
    assert_eq!(index.snapshots.len(), 2);
    bk.ok(&["verify", &ids[2]], 0);
}

/// Touches one file per folder so the next run has real copying to do.
fn change_some(s: &Path, tag: &str) {
    for d in 0..40 {
        write(
            &s.join(format!("d{d:02}/f00")),
            format!("changed {tag}").as_bytes(),
        );
    }
}

/// Kills runs with SIGKILL at several moments of a first full copy and of
/// incremental runs, at fractions of a measured run time so the kills land
/// inside the run on fast and slow machines alike: no final-named snapshot
/// may ever lack its manifest or fail verify, and the next run cleans up and
/// succeeds.
#[test]
fn kill_9_at_any_moment_never_leaves_a_snapshot_that_looks_complete() {
    let bk = Bk::new();
    let s = bk.src();
    for d in 0..40 {
        for f in 0..40 {
            write(
                &s.join(format!("d{d:02}/f{f:02}")),
                format!("{d}-{f} ").repeat(2000).as_bytes(),
            );
        }
    }
    for i in 0..8 {
        write(&s.join(format!("big{i}")), &vec![i as u8; 4 << 20]);
    }
    let timed = |bk: &Bk| {
        let t = std::time::Instant::now();
        bk.ok(&["run"], 0);
        t.elapsed()
    };
    // A full run's duration, then start from nothing again.
    let full = timed(&bk);
    std::fs::remove_dir_all(&bk.backup_dir).unwrap();
    let mut kills = 0;
    for round in 0..3 {
        let span = if round == 0 {
            full
        } else {
            change_some(&s, &format!("{round}a"));
            let t = timed(&bk);
            change_some(&s, &format!("{round}b"));
            t
        };
        for fraction in [0.02, 0.15, 0.4, 0.7, 0.9] {
            let mut child = bk
                .cmd(&["run"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(span.mul_f64(fraction));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap();
                kills += 1;
            }
            child.wait().unwrap();
            assert_no_incomplete_snapshot(&bk);
        }
        // The next run cleans up whatever the kills left and succeeds.
        bk.ok(&["run"], 0);
        let left: Vec<String> = bk
            .ids()
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "leftovers after a clean run: {left:?}");
        for m in std::fs::read_dir(bk.backup_dir.join("manifests")).unwrap() {
            let name = m.unwrap().file_name().to_string_lossy().into_owned();
            let id = name.trim_end_matches(".manifest");
            assert!(
                bk.backup_dir.join("snapshots").join(id).is_dir(),
                "orphan manifest {name}"
            );
        }
        // Every snapshot under a final name is whole: verify hashes all of it.
        for id in bk.ids() {
            bk.ok(&["verify", &id], 0);
        }
    }
    assert!(
        kills >= 8,
        "too few runs were killed mid-way ({kills} of 15)"
    );
}

/// Files deleted, rewritten and created while runs copy them: every run ends
/// with 0 or 3 (never a crash or a failure), every snapshot verifies, and a
/// vanished file is a named warning.
#[test]
fn files_changing_and_vanishing_during_a_run_are_warnings_never_failures() {
    let bk = Bk::new();
    let s = bk.src();
    let names: Vec<PathBuf> = (0..1200)
        .map(|i| s.join(format!("d{:02}/f{i:04}", i / 40)))
        .collect();
    let mut codes = Vec::new();
    let mut warned = 0;
    for round in 0..4 {
        for (i, n) in names.iter().enumerate() {
            write(n, &vec![(i + round) as u8; 64 << 10]);
        }
        let child = bk
            .cmd(&["run"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Churn from the end of the sorted tree, which the run copies last.
        for (k, n) in names.iter().rev().enumerate().take(600) {
            match k % 3 {
                0 => {
                    let _ = std::fs::remove_file(n);
                }
                1 => write(n, b"rewritten while the backup runs"),
                _ => write(&n.with_extension("new"), b"created while the backup runs"),
            }
        }
        let o = child.wait_with_output().unwrap();
        let err = text(&o.stderr);
        assert!(
            matches!(o.status.code(), Some(0) | Some(3)),
            "exit {:?}: {err}",
            o.status.code()
        );
        assert!(!err.contains("panicked"), "{err}");
        if o.status.code() == Some(3) {
            warned += 1;
            assert!(
                err.contains("skipped") || err.contains("changed while it was copied"),
                "{err}"
            );
        }
        codes.push(o.status.code());
        bk.ok(&["verify"], 0);
    }
    eprintln!("exit codes under churn: {codes:?} ({warned} with warnings)");
}

/// Mounts a tmpfs for the test and unmounts it at the end.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, opts: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let o = Cmd::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(at)
            .run()
            .unwrap();
        assert!(o.success(), "mount failed: {}", o.stderr_lossy());
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Cmd::new("umount").arg(&self.0).run();
    }
}

/// A live restore runs as root into folders other users may write: a symlink
/// one of them planted where a folder was must not carry the restore elsewhere.
#[test]
fn live_restore_does_not_follow_another_users_symlink() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "needs root in CI");
        eprintln!("SKIPPED: only root can give a symlink to another user");
        return;
    }
    let bk = Bk::new();
    let s = bk.src();
    write(&s.join("app/conf/settings"), b"from the snapshot\n");
    bk.ok(&["run"], 0);
    let id = bk.ids()[0].clone();

    let elsewhere = bk.sb.path().join("elsewhere");
    write(&elsewhere.join("settings"), b"not to be touched\n");
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_dir_all(s.join("app/conf")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, s.join("app/conf")).unwrap();
    std::os::unix::fs::lchown(s.join("app/conf"), Some(65534), Some(65534)).unwrap();

    for what in [s.join("app"), s.join("app/conf/settings")] {
        let o = bk.ok(
            &[
                "restore",
                &id,
                what.to_str().unwrap(),
                "--to",
                "/",
                "--overwrite",
            ],
            1,
        );
        assert!(text(&o.stderr).contains("symlink"), "{}", text(&o.stderr));
        assert_eq!(
            std::fs::read(elsewhere.join("settings")).unwrap(),
            b"not to be touched\n"
        );
        assert_eq!(
            std::fs::metadata(&elsewhere).unwrap().mode() & 0o7777,
            0o755
        );
    }
    // A symlink of the restoring user (root here) is the owner's own layout.
    std::os::unix::fs::lchown(s.join("app/conf"), Some(0), Some(0)).unwrap();
    let settings = s.join("app/conf/settings");
    bk.ok(
        &[
            "restore",
            &id,
            settings.to_str().unwrap(),
            "--to",
            "/",
            "--overwrite",
        ],
        0,
    );
    assert_eq!(
        std::fs::read(elsewhere.join("settings")).unwrap(),
        b"from the snapshot\n"
    );
    // Restoring the folder itself goes through that symlink as well.
    let conf = s.join("app/conf");
    bk.ok(
        &[
            "restore",
            &id,
            conf.to_str().unwrap(),
            "--to",
            "/",
            "--overwrite",
        ],
        0,
    );
    assert!(
        std::fs::symlink_metadata(&conf)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

fn root_or_skip(what: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "{what} needs root in CI");
    eprintln!("SKIPPED: {what} needs root to mount a tmpfs");
    false
}

#[test]
fn full_disk_mid_run_fails_cleanly_and_keeps_earlier_snapshots() {
    if !root_or_skip("full_disk_mid_run") {
        return;
    }
    let mut bk = Bk::new();
    // Plenty of bytes but few inodes: the byte estimate passes and the disk
    // really runs out (ENOSPC) in the middle of the copy.
    let disk = Tmpfs::mount(&bk.sb.path().join("disk"), "size=64m,nr_inodes=120");
    bk.data_mount = disk.0.clone();
    bk.backup_dir = disk.0.join("backups");
    for i in 0..10 {
        write(&bk.src().join(format!("f{i}")), format!("{i}").as_bytes());
    }
    bk.ok(&["run"], 0);
    let first = bk.ids()[0].clone();
    for i in 0..300 {
        write(
            &bk.src().join(format!("more/g{i:03}")),
            format!("{i}").as_bytes(),
        );
    }
    let o = bk.ok(&["run"], 1);
    let err = text(&o.stderr);
    assert!(
        err.contains("backup disk is full") && err.contains("earlier snapshots are intact"),
        "{err}"
    );
    assert_eq!(bk.ids(), [first.as_str()], "a partial snapshot was left");
    let out = bk.outcome();
    assert_eq!(out.status, "failed");
    assert_eq!(out.last_ok_id.as_deref(), Some(first.as_str()));
    bk.ok(&["verify", &first], 0);
}

#[test]
fn too_little_space_is_refused_before_copying() {
    if !root_or_skip("too_little_space") {
        return;
    }
    let mut bk = Bk::new();
    let disk = Tmpfs::mount(&bk.sb.path().join("disk"), "size=32m");
    bk.data_mount = disk.0.clone();
    bk.backup_dir = disk.0.join("backups");
    write(&bk.src().join("small"), b"x");
    bk.ok(&["run"], 0);
    let first = bk.ids()[0].clone();
    write(&bk.src().join("big"), &vec![7u8; 30 << 20]);
    let o = bk.ok(&["run"], 1);
    assert!(
        text(&o.stderr).contains("not enough space on the backup disk"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(bk.ids(), [first.as_str()]);
    assert_eq!(bk.outcome().status, "failed");
    bk.ok(&["verify", &first], 0);
}

#[test]
fn a_backup_folder_inside_a_source_is_never_copied_into_itself() {
    let mut bk = Bk::new();
    write(&bk.src().join("f"), b"x");
    bk.backup_dir = bk.src().join("backups");
    bk.ok(&["run"], 0);
    bk.ok(&["run"], 0);
    let ids = bk.ids();
    assert_eq!(ids.len(), 2);
    let snap = bk.in_snap(&ids[1]);
    assert!(snap.join("f").is_file());
    assert!(
        !snap.join("backups").exists(),
        "the snapshot holds the backup folder"
    );
    bk.ok(&["verify"], 0);
}

#[test]
fn bad_usage_exits_2() {
    let bk = Bk::new();
    assert_eq!(bk.run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(bk.run(&["restore"]).status.code(), Some(2));
    assert_eq!(bk.run(&["--help"]).status.code(), Some(0));
}
