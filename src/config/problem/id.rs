//! Masalah pengaturan dalam bahasa Indonesia: apa yang salah, lalu cara membetulkannya.

use super::{FileProblem, Problem, ProblemKind, example};
use crate::envfile::ParseErrorKind;
use crate::paths;

pub(super) fn heading(n: usize) -> String {
    format!(
        "Ada {n} masalah di pengaturan (semuanya di bawah ini; betulkan dulu, lalu jalankan lagi):"
    )
}

pub(super) fn reason(p: &Problem) -> String {
    let (what, fix) = parts(p);
    match (fix.is_empty(), example(&p.key)) {
        (true, _) => what,
        (false, Some(e)) => format!("{what}. Cara betulkan: {fix}, misalnya {}={e}", p.key),
        (false, None) => format!("{what}. Cara betulkan: {fix}"),
    }
}

fn parts(p: &Problem) -> (String, &'static str) {
    use ProblemKind as K;
    match &p.kind {
        K::TokenShape => (
            "bentuknya bukan token bot".into(),
            "salin lagi dari @BotFather (angka, titik dua, lalu huruf)",
        ),
        K::Required if p.key == "BOT_TOKEN" => (
            "masih kosong, padahal bot butuh ini".into(),
            "minta token ke @BotFather (/newbot) lalu tulis di .env",
        ),
        K::Required => ("masih kosong, padahal wajib diisi".into(), "isi dulu"),
        K::AdminId => (
            "bukan ID pengguna Telegram (angka positif)".into(),
            "tulis ID berupa angka, pisahkan dengan koma",
        ),
        K::ChatId => (
            "bukan ID chat Telegram".into(),
            "tulis ID grupnya (diawali tanda minus)",
        ),
        K::HttpUrl => (
            "bukan alamat http:// atau https://".into(),
            "tulis alamatnya lengkap",
        ),
        K::Lang => ("bukan bahasa yang dikuasai bot".into(), "pakai id atau en"),
        K::NotAbsolute => ("bukan path absolut".into(), "awali dengan /"),
        K::DotDot => ("mengandung '..'".into(), "tulis path-nya tanpa '..'"),
        K::Glob => (
            "bukan pola glob".into(),
            "cek apakah setiap [ dan { sudah ditutup",
        ),
        K::Time => ("bukan jam yang sah".into(), "tulis JJ:MM, format 24 jam"),
        K::WholeNumber { min, max } => (
            format!("bukan bilangan bulat dari {min} sampai {max}"),
            "tulis bilangan bulat dalam rentang itu",
        ),
        K::Number { min, max } => (
            format!("bukan angka dari {min} sampai {max}"),
            "tulis angka dalam rentang itu",
        ),
        K::Threshold { max } => (
            format!("bukan angka di atas 0 sampai {max}"),
            "tulis angka dalam rentang itu",
        ),
        K::BelowHysteresis { hysteresis } => (
            format!(
                "harus di atas ALERT_HYSTERESIS ({hysteresis}), kalau tidak peringatannya tak akan pernah reda"
            ),
            "naikkan nilainya, atau turunkan ALERT_HYSTERESIS",
        ),
        K::UnitName => (
            "bukan nama unit systemd".into(),
            "pakai huruf, angka dan - _ . @ saja",
        ),
        K::Host => (
            "bukan nama host atau alamat IP".into(),
            "tulis nama seperti example.com atau alamat seperti 1.1.1.1",
        ),
        K::Switch => (
            "bukan 0 atau 1".into(),
            "1 untuk menyalakan; 0, atau dikosongkan, untuk mematikan",
        ),
        K::QuietHours => (
            "bukan rentang jam".into(),
            "tulis JJ:MM-JJ:MM waktu setempat (boleh lewat tengah malam), atau off",
        ),
        K::AlertCodes => (
            "bukan daftar kode peringatan".into(),
            "tulis kode seperti DISK_ROOT_HIGH atau SERVICE_DOWN:*, dipisah koma",
        ),
        K::Minutes => (
            "bukan jumlah menit".into(),
            "tulis menit bulat; 0 untuk mematikan",
        ),
        K::ProbeUrls => (
            "bukan daftar pasangan nama=http://alamat".into(),
            "pisahkan pasangannya dengan koma",
        ),
        K::PingUrl => (
            "bukan alamat http:// atau https:// (nilainya tidak ditampilkan: path-nya rahasia)"
                .into(),
            "salin lagi URL ping dari layanan pemantaumu",
        ),
        K::SystemKeyInEnv => (
            format!(
                "ini pengaturan sistem, .env tidak bisa mengubahnya: hanya {} yang bisa",
                paths::SYSTEM_ENV_PATH
            ),
            "pindahkan barisnya ke sana, sebagai root",
        ),
        K::Line(kind) => (
            match kind {
                ParseErrorKind::NotKeyValue => "baris ini bukan KUNCI=NILAI",
                ParseErrorKind::BadKeyName => {
                    "nama kuncinya tidak sah (huruf, angka dan _, tidak diawali angka)"
                }
                ParseErrorKind::UnterminatedQuote => "ada tanda kutip yang belum ditutup",
                ParseErrorKind::TextAfterQuote => "ada teks setelah tanda kutip penutup",
            }
            .into(),
            "betulkan barisnya, atau hapus saja",
        ),
        K::File(f) => file(f),
        K::Unsettled => (
            "kembali ke pengaturan terakhir yang benar tidak juga beres".into(),
            "",
        ),
    }
}

fn file(f: &FileProblem) -> (String, &'static str) {
    match f {
        FileProblem::Symlink => (
            "berupa symlink, dan symlink tidak diikuti".into(),
            "tunjuk file aslinya",
        ),
        FileProblem::NotPlain => (
            "bukan file biasa dengan satu link".into(),
            "jadikan file biasa",
        ),
        FileProblem::TooLarge { kib } => (
            format!("lebih besar dari {kib} KiB, terlalu besar untuk file pengaturan"),
            "cek apakah file-nya benar",
        ),
        FileProblem::BadPath => (
            "bukan path absolut ke sebuah file".into(),
            "tulis path lengkapnya",
        ),
        FileProblem::Untrusted { at, uid, mode } => (
            format!(
                "tidak bisa dipercaya: {} milik uid {uid} dengan mode {mode:o}",
                at.display()
            ),
            "file ini dan semua folder di atasnya harus milik root dan hanya bisa ditulis root (chown root:root, chmod 644 atau 755)",
        ),
        FileProblem::Missing => (
            "tidak ada".into(),
            "buat file-nya, atau tunjuk path yang benar",
        ),
        FileProblem::Denied => (
            "tidak bisa dibaca: izin ditolak".into(),
            "cek pemilik dan mode file-nya",
        ),
        FileProblem::Io(e) => (format!("tidak bisa dibaca: {e}"), "cek disk dan file-nya"),
    }
}
