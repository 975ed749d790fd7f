//! Fidelity and scale of the streaming snapshots: hard links stay links,
//! sparse files stay sparse, schema-1 manifests stay readable, manifests stay
//! small, readers and prune wait for each other, and many files (a million
//! with `POTION_LARGE=1`) back up, verify and restore.

use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Bk, ino, text, write};
use potion_runner::backup::at::Dir;
use potion_runner::backup::lock;

#[test]
fn hard_links_inside_a_source_stay_links_in_snapshots_and_restores() {
    let bk = Bk::new();
    let s = bk.src();
    write(&s.join("a/first"), b"shared content");
    std::fs::hard_link(s.join("a/first"), s.join("a/second")).unwrap();
    std::fs::create_dir_all(s.join("b")).unwrap();
    std::fs::hard_link(s.join("a/first"), s.join("b/third")).unwrap();
    write(&s.join("a/alone"), b"alone");
    bk.ok(&["run"], 0);
    let id1 = bk.ids()[0].clone();
    let snap = bk.in_snap(&id1);
    let i = ino(&snap.join("a/first"));
    assert_eq!(ino(&snap.join("a/second")), i);
    assert_eq!(ino(&snap.join("b/third")), i);
    assert_ne!(ino(&snap.join("a/alone")), i);
    let m = bk.manifest(&id1);
    assert_eq!(
        m.totals.new_files, 2,
        "the linked names were copied: {:?}",
        m.totals
    );
    bk.ok(&["verify"], 0);

    // Nothing changed: every name links to the first snapshot's one inode.
    std::thread::sleep(Duration::from_millis(1100));
    bk.ok(&["run"], 0);
    let id2 = bk.ids()[1].clone();
    let snap2 = bk.in_snap(&id2);
    for n in ["a/first", "a/second", "b/third"] {
        assert_eq!(ino(&snap2.join(n)), i, "{n}");
    }
    // A restore of the folder keeps the two names in it as one file.
    let to = bk.sb.path().join("restore-to");
    let src_a = format!("{}/a", s.display());
    bk.ok(&["restore", &id2, &src_a, "--to", to.to_str().unwrap()], 0);
    let r = to.join(s.strip_prefix("/").unwrap()).join("a");
    assert_eq!(ino(&r.join("first")), ino(&r.join("second")));
    assert_eq!(std::fs::read(r.join("second")).unwrap(), b"shared content");
}

#[test]
fn sparse_files_stay_sparse_in_snapshots_and_restores() {
    let bk = Bk::new();
    let f = bk.src().join("disk.img");
    std::fs::create_dir_all(bk.src()).unwrap();
    let file = std::fs::File::create(&f).unwrap();
    file.set_len(1 << 30).unwrap();
    file.write_all_at(b"boot", 4096).unwrap();
    file.write_all_at(b"end", (1 << 30) - 3).unwrap();
    drop(file);
    bk.ok(&["run"], 0);
    let id = bk.ids()[0].clone();
    let copy = std::fs::metadata(bk.in_snap(&id).join("disk.img")).unwrap();
    assert_eq!(copy.len(), 1 << 30);
    assert!(
        copy.blocks() * 512 < 1 << 20,
        "stored dense: {} blocks",
        copy.blocks()
    );
    bk.ok(&["verify"], 0);
    let img = format!("{}", f.display());
    bk.ok(&["restore", &id, &img], 0);
    let restored = bk
        .backup_dir
        .join("restored")
        .join(&id)
        .join(f.strip_prefix("/").unwrap());
    let r = std::fs::metadata(&restored).unwrap();
    assert_eq!(r.len(), 1 << 30);
    assert!(
        r.blocks() * 512 < 1 << 20,
        "restored dense: {} blocks",
        r.blocks()
    );
    let mut tail = [0u8; 3];
    std::fs::File::open(&restored)
        .unwrap()
        .read_exact_at(&mut tail, (1 << 30) - 3)
        .unwrap();
    assert_eq!(&tail, b"end");
}

#[test]
fn schema_1_snapshots_stay_listable_verifiable_restorable_and_linkable() {
    let bk = Bk::new();
    write(&bk.src().join("keep/old.txt"), b"from the old format");
    write(&bk.src().join("other"), b"x");
    bk.ok(&["run"], 0);
    let id = bk.ids()[0].clone();
    // Rewrite its manifest as the previous version did (schema 1 JSON).
    let mut m = bk.manifest(&id);
    m.schema = 1;
    m.files.reverse(); // schema 1 listed several sources in byte order; order must not matter
    let mans = bk.backup_dir.join("manifests");
    std::fs::remove_file(mans.join(format!("{id}.manifest"))).unwrap();
    std::fs::write(
        mans.join(format!("{id}.json")),
        serde_json::to_vec(&m).unwrap(),
    )
    .unwrap();
    assert!(text(&bk.ok(&["list"], 0).stdout).contains(&id));
    bk.ok(&["verify", &id], 0);
    let p = format!("{}/keep/old.txt", bk.src().display());
    bk.ok(&["restore", &id, &p], 0);
    // The next run reads it as its previous snapshot and links unchanged files.
    std::thread::sleep(Duration::from_millis(1100));
    bk.ok(&["run"], 0);
    let id2 = bk.ids()[1].clone();
    assert_eq!(
        ino(&bk.in_snap(&id2).join("keep/old.txt")),
        ino(&bk.in_snap(&id).join("keep/old.txt"))
    );
    assert_eq!(bk.manifest(&id2).totals.new_files, 0);
    bk.ok(&["prune"], 0);
}

fn manifest_bytes(bk: &Bk, id: &str) -> u64 {
    let p = bk
        .backup_dir
        .join("manifests")
        .join(format!("{id}.manifest"));
    std::fs::metadata(p).unwrap().len()
}

#[test]
fn manifests_stay_under_48_bytes_a_file() {
    let bk = Bk::new();
    for i in 0..4000 {
        write(
            &bk.src().join(format!("d{:02}/file-{i:05}.dat", i / 500)),
            &[b'x'; 256],
        );
    }
    bk.ok(&["run"], 0);
    std::thread::sleep(Duration::from_millis(1100));
    bk.ok(&["run"], 0);
    let ids = bk.ids();
    let total: u64 = ids.iter().map(|id| manifest_bytes(&bk, id)).sum();
    let per_file = total as f64 / (2.0 * 4000.0);
    assert!(per_file <= 48.0, "{per_file:.1} bytes a file");
    // The header carries the totals, so a listing needs nothing else.
    let m = bk.manifest(&ids[1]);
    assert_eq!((m.totals.files, m.totals.new_files), (4000, 0));
}

#[test]
fn prune_waits_for_a_running_verify_or_restore() {
    let bk = Bk::new();
    write(&bk.src().join("f"), b"x");
    bk.ok(&["run"], 0);
    let dir = Dir::open(&bk.backup_dir).unwrap();
    let reader = lock::wait(&dir, lock::Mode::Shared, Duration::ZERO, "test").unwrap();
    let start = Instant::now();
    let mut prune = bk.cmd(&["prune"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        prune.try_wait().unwrap().is_none(),
        "prune did not wait for the reader"
    );
    // Another reader is not held up.
    bk.ok(&["verify"], 0);
    drop(reader);
    assert!(prune.wait().unwrap().success());
    assert!(start.elapsed() >= Duration::from_millis(800));
}

/// Many files: back up, verify, restore one folder. With `POTION_LARGE=1` a
/// million (generating the tree alone takes minutes on a small machine);
/// otherwise 20,000, so the same path is asserted in every run, CI included.
#[test]
fn many_files_back_up_verify_and_restore() {
    let files: usize = if std::env::var_os("POTION_LARGE").is_some() {
        1_000_000
    } else {
        20_000
    };
    let bk = Bk::new();
    let folders = files / 1000;
    for d in 0..folders {
        let dir = bk.src().join(format!("d{d:04}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..1000 {
            std::fs::write(dir.join(format!("f{f:04}")), format!("{d}/{f}")).unwrap();
        }
    }
    let timed = |args: &[&str]| {
        let t = Instant::now();
        bk.ok(args, 0);
        eprintln!("{args:?}: {:.1} s", t.elapsed().as_secs_f64());
    };
    timed(&["run"]);
    std::thread::sleep(Duration::from_millis(1100));
    timed(&["run"]);
    timed(&["verify"]);
    let ids = bk.ids();
    let id = ids[1].clone();
    let totals = bk.manifest(&id).totals;
    assert_eq!(totals.files, files as u64);
    // Nothing changed: every file is linked (in batches that split each
    // 1000-file folder), none copied.
    assert_eq!(totals.new_files, 0);
    for (d, f) in [(0, 0), (folders - 1, 511), (folders / 2, 512), (1, 999)] {
        let rel = format!("d{d:04}/f{f:04}");
        assert_eq!(
            ino(&bk.in_snap(&ids[0]).join(&rel)),
            ino(&bk.in_snap(&id).join(&rel)),
            "{rel}"
        );
    }
    let pick = folders * 7 / 9;
    let folder = format!("{}/d{pick:04}", bk.src().display());
    timed(&["restore", &id, &folder]);
    let r = bk
        .backup_dir
        .join("restored")
        .join(&id)
        .join(Path::new(&folder).strip_prefix("/").unwrap());
    assert_eq!(std::fs::read_dir(&r).unwrap().count(), 1000);
    assert_eq!(
        std::fs::read(r.join("f0123")).unwrap(),
        format!("{pick}/123").as_bytes()
    );
}

#[test]
fn prune_counts_local_days_across_a_daylight_saving_change() {
    let mut bk = Bk::new();
    write(&bk.src().join("f"), b"x");
    bk.ok(&["run"], 0);
    let newest = bk.ids()[0].clone();
    // Berlin leaves summer time at 01:00 UTC on 2026-10-25. In local time these
    // fall on the 24th, the 25th, the 25th and the 26th; in UTC on the 24th,
    // 24th, 25th and 25th.
    let fake = [
        "20261024T213000Z",
        "20261024T223000Z",
        "20261025T223000Z",
        "20261025T233000Z",
    ];
    let mans = bk.backup_dir.join("manifests");
    for id in fake {
        std::fs::create_dir(bk.backup_dir.join("snapshots").join(id)).unwrap();
        std::fs::copy(
            mans.join(format!("{newest}.manifest")),
            mans.join(format!("{id}.manifest")),
        )
        .unwrap();
    }
    bk.extra = vec![
        ("BACKUP_KEEP_DAILY".into(), "4".into()),
        ("BACKUP_KEEP_WEEKLY".into(), "0".into()),
        ("BACKUP_KEEP_MONTHLY".into(), "0".into()),
        ("TZ".into(), "Europe/Berlin".into()),
    ];
    let out = text(&bk.ok(&["prune", "--dry-run"], 0).stdout);
    for (id, day) in [
        (fake[0], "2026-10-24"),
        (fake[2], "2026-10-25"),
        (fake[3], "2026-10-26"),
    ] {
        assert!(
            out.contains(&format!("keep {id}: daily {day}")),
            "{id}\n{out}"
        );
    }
    assert!(out.contains(&format!("would delete {}", fake[1])), "{out}");
    // The same snapshots by UTC days keep others: the zone is what decides.
    bk.extra[3].1 = "UTC".into();
    let out = text(&bk.ok(&["prune", "--dry-run"], 0).stdout);
    assert!(out.contains(&format!("would delete {}", fake[0])), "{out}");
    assert!(
        out.contains(&format!("keep {}: daily 2026-10-24", fake[1])),
        "{out}"
    );
}
