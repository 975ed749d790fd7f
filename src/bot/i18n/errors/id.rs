//! Indonesian words of the errors that reach chat: the functions behind
//! [`super::ID`]. Values are HTML-escaped through `q`/`path`.

use super::*;

pub(super) fn invalid_id(e: &Invalid) -> String {
    use InvalidKind::*;
    let v = q(&e.value);
    let max = crate::validate::UNIT_NAME_MAX;
    match e.kind {
        UnitEmpty => "Nama unitnya kosong; tulis misalnya <code>ollama</code>.".into(),
        UnitLeadingMark => format!("Nama unit {v} tidak boleh diawali <code>-</code> atau <code>.</code>."),
        UnitChar(c) => format!("Nama unit {v} memuat {}; pakai huruf, angka dan <code>: - _ . @</code> saja.", q(&c.to_string())),
        UnitTooLong => format!("Nama unit itu lebih dari {max} karakter."),
        UnitShape => format!("{v} bukan nama unit yang sah."),
        NotService => format!("{v} bukan unit <code>.service</code>; hanya layanan yang bisa diatur."),
        Template => format!("{v} masih templat; sebut instansnya, misalnya <code>foo@bar.service</code>."),
        NotTime => format!("{v} bukan jam; tulis JJ:MM, misalnya <code>02:30</code>."),
        TimeOutOfRange => format!("{v} bukan jam: jam sampai 23, menit sampai 59."),
        HostEmpty => "Host-nya kosong; tulis misalnya <code>1.1.1.1</code>.".into(),
        HostTooLong => "Nama host itu lebih dari 253 karakter.".into(),
        HostLikeOption => format!("{v} terlihat seperti opsi, bukan host."),
        NotHost => format!("{v} bukan nama host atau alamat IP."),
        NotNumber => format!("{v} bukan angka; tulis misalnya <code>80</code> atau <code>80,5</code>."),
        NotFinite => format!("{v} bukan angka biasa."),
        OutOfRange(m) => format!("{v} di luar batas untuk {}: pakai nilai di atas 0 sampai {}.", q(m.name()), m.max_threshold()),
        NotSnapshotId => format!("{v} bukan id snapshot; bentuknya seperti <code>20260314T031500Z</code> (lihat /backup_list)."),
        PathTooLong => "Path itu terlalu panjang; tulis file atau folder seperti saat dibackup.".into(),
        PathControlChar => "Path itu memuat karakter kontrol; tulis seperti saat dibackup.".into(),
        PathLikeOption => format!("{v} terlihat seperti opsi, bukan path."),
        PathParent => format!("{v} memuat <code>..</code>; tulis path lengkap, misalnya <code>/opt/potion-runner/.env</code>."),
        PathEmpty => "Sebut file atau folder yang mau dipulihkan, misalnya <code>/opt/potion-runner/.env</code>.".into(),
    }
}

pub(super) fn refused_id(e: &Refused, t: &ErrorTexts) -> String {
    use Refused::*;
    let days = crate::chatops::logs::MAX_SINCE_DAYS;
    match e {
        Invalid(i) => i.said(t),
        UnitNotListed { unit } => format!("{} belum ada di daftar pantau, jadi jurnalnya tidak saya tampilkan. Tambahkan dulu dengan /svc_add.", q(unit)),
        NotLines { value } => format!("{} bukan jumlah baris; tulis misalnya <code>100</code>.", q(value)),
        NotSpan { value } => format!("{} bukan rentang waktu; tulis misalnya <code>30 menit</code>, <code>2 jam</code>, <code>kemarin</code> atau <code>hari ini</code>.", q(value)),
        EmptySpan { value } => format!("Rentang {} kosong; pakai paling sedikit 1.", q(value)),
        SpanTooLong { value } => format!("{} terlalu jauh ke belakang; paling jauh {days} hari.", q(value)),
        LogIsPath { name } => format!("{} itu path; sebut nama log di LOG_DIR, misalnya <code>actions.log</code>.", q(name)),
        LogNotSendable { name } => format!("{} tidak bisa dikirim; pakai <code>actions.log</code> atau <code>actions.log.N</code>.", q(name)),
        LogMissing { name, dir } => format!("{} belum ada di {}.", q(name), path(dir)),
        LogUnreadable { path: p, cause } => format!("{} tidak bisa dibaca ({}).", path(p), esc(cause)),
        LogNotFile { path: p } => format!("{} bukan file biasa, jadi tidak saya kirim.", path(p)),
        LogTooBig { name, megabytes } => format!("{} besarnya {megabytes} MB, melebihi batas dokumen Telegram (50 MB).", q(name)),
        PipNotConfigured => "Sinkronisasi pip belum diatur: isi <code>UPDATE_PIP_VENV</code> dan <code>UPDATE_PIP_REQUIREMENTS</code> di .env.".into(),
        PipVenvNotFolder { venv } => format!("UPDATE_PIP_VENV {} bukan folder; buat venv-nya dengan <code>python3 -m venv</code>.", path(venv)),
        PipVenvWithoutPip { venv } => format!("{} tidak punya <code>bin/pip</code>; apakah UPDATE_PIP_VENV benar sebuah venv?", path(venv)),
        PipRequirementsMissing { requirements } => format!("UPDATE_PIP_REQUIREMENTS {} belum ada.", path(requirements)),
        GitNotConfigured => "Belum ada repositori untuk ditarik: isi <code>UPDATE_GIT_REPOS</code> di .env.".into(),
    }
}

pub(super) fn arg_id(e: &ArgError, t: &ErrorTexts) -> String {
    match e {
        ArgError::Invalid(i) => i.said(t),
        ArgError::UnknownMetric(m) => metric_id(m),
        ArgError::NoThreshold(m) => format!("{} tidak punya ambang.", q(m.name())),
        ArgError::UnknownCode(c) => format!(
            "Saya tidak kenal kode peringatan {}; pilih salah satu: {}.",
            q(c),
            alert_codes()
        ),
        ArgError::NotSubjectName(s) => format!("{} bukan nama disk atau probe.", q(s)),
        ArgError::TakesNoSubject(c) => format!("{} tidak memakai nama unit.", q(c.as_str())),
        ArgError::NotMinutes { value, max } => format!(
            "{} bukan jumlah menit; tulis bilangan bulat 0 sampai {max}.",
            q(value)
        ),
    }
}

pub(super) fn notice_id(e: &ParseError, t: &ErrorTexts) -> String {
    match e {
        ParseError::NotAWindow(s) => format!(
            "{} bukan rentang jam; tulis JJ:MM-JJ:MM, misalnya <code>22:00-06:00</code>, atau <code>off</code>.",
            q(s)
        ),
        ParseError::BadTime { reason, .. } | ParseError::BadUnit { reason, .. } => reason.said(t),
        ParseError::EmptyWindow(s) => format!("{} mulai dan selesai di jam yang sama.", q(s)),
        ParseError::UnknownCode(s) => format!(
            "Saya tidak kenal kode peringatan {}; pilih salah satu: {}.",
            q(s),
            alert_codes()
        ),
        ParseError::NeedsUnit(s) => format!(
            "{} perlu nama unit: {} atau {}.",
            q(s),
            q(&format!("{s}:<unit>")),
            q(&format!("{s}:*"))
        ),
        ParseError::NotMinutes(s) => format!("{} bukan jumlah menit.", q(s)),
    }
}

pub(super) fn metric_id(m: &UnknownMetric) -> String {
    format!(
        "Saya tidak kenal metrik {}; pilih salah satu: {}.",
        q(&m.name),
        q(m.choices)
    )
}

pub(super) fn chart_id(e: &BadArgs) -> String {
    match e {
        BadArgs::Metric(m) => metric_id(m),
        BadArgs::NotHours(v) => {
            format!("{} bukan jumlah jam; tulis misalnya <code>24</code>.", q(v))
        }
        BadArgs::HoursOutOfRange(v) => {
            format!("{} di luar batas: pakai 1 sampai {MAX_HOURS} jam.", q(v))
        }
        BadArgs::TooMany => "Kebanyakan kata; cukup metrik lalu jumlah jam.".into(),
    }
}

pub(super) fn helper_id(c: ReasonCode) -> &'static str {
    use ReasonCode::*;
    match c {
        BadRequest => "❌ Tidak bisa {what}: helper menolak permintaannya sebagai tidak sah.",
        ProtectedUnit => {
            "❌ Tidak bisa {what}: unit itu dilindungi (bisa membuka shell, mematikan mesin atau memutus jaringan), jadi tidak diatur dari chat."
        }
        SelfStop => {
            "❌ Tidak bisa {what}: itu bot ini sendiri; kalau dimatikan, saya tidak bisa menyalakannya lagi dari chat."
        }
        NotAllowed => {
            "❌ Tidak bisa {what}: unit itu belum ada di /etc/potion-runner/allowed-units."
        }
        AllowlistBroken => {
            "❌ Tidak bisa {what}: /etc/potion-runner/allowed-units tidak bisa dipercaya atau dibaca, jadi semua unit saya tolak. Periksa pemilik dan isinya."
        }
        NoSuchUnit => {
            "❌ Tidak bisa {what}: systemd tidak kenal unit itu. Cek ejaannya dengan /svc_list."
        }
        TtyUnit => {
            "❌ Tidak bisa {what}: unit itu memakai terminal (StandardInput=tty), jadi tidak diatur dari chat."
        }
        UnitUnknown => {
            "❌ Tidak bisa {what}: systemd tidak menjawab saat ditanya soal unit itu. Coba lagi sebentar lagi."
        }
        BackupDirUntrusted => {
            "❌ Tidak bisa {what}: folder backup bukan milik root saja, jadi tidak saya sentuh. Periksa pemilik BACKUP_DIR."
        }
        NoSuchSnapshot => "❌ Tidak bisa {what}: snapshot itu tidak ada. Lihat /backup_list.",
        FlagUnderSudo => {
            "❌ Tidak bisa {what}: helper menolak pengaturan dari luar saat lewat sudo."
        }
        PowerActionsOff => "❌ Tidak bisa {what}: POWER_ACTIONS=1 belum diisi di system.env.",
        NotOnBattery => "❌ Tidak bisa {what}: mesin tidak sedang memakai baterai.",
        BatteryNotLow => "❌ Tidak bisa {what}: baterainya belum cukup rendah untuk dimatikan.",
    }
}

pub(super) fn backup_status_id(s: &str) -> &'static str {
    match s {
        "ok" => "berhasil",
        "warnings" => "selesai, ada file yang dilewati",
        "failed" => "gagal",
        "none" => "belum pernah",
        "running" => "sedang berjalan",
        _ => "tidak diketahui",
    }
}

pub(super) fn health_part_id(prefix: &str) -> &'static str {
    match part_key(prefix) {
        "system" => "data sistem (/proc)",
        "disk" => "isi disk",
        "backup" => "catatan backup",
        "services" => "status layanan (systemd tidak menjawab)",
        "smart" => "SMART disk",
        "temperature" => "sensor suhu",
        "power" => "baterai dan listrik",
        _ => "bagian lain",
    }
}

pub(super) fn unit_state_id(s: &str) -> &'static str {
    match s {
        "active" => "jalan",
        "reloading" => "memuat ulang",
        "inactive" => "berhenti",
        "failed" => "mati (gagal)",
        "activating" => "sedang dinyalakan",
        "deactivating" => "sedang dimatikan",
        "maintenance" | "refreshing" => "sedang dirawat",
        _ => "tidak diketahui",
    }
}

pub(super) const OPS: OpsResults = OpsResults {
    ip_none_up: "Tidak ada antarmuka jaringan yang menyala.",
    ip_hidden: "({n} antarmuka loopback atau mati tidak ditampilkan)",
    ip_public: "🌍 IP publik: {ip}",
    ip_public_none: "🌍 IP publik: tidak terjangkau (layanan pengecek tidak menjawab)",
    ping_summary: "{host}: {received} dari {sent} balasan, {loss}% hilang",
    ping_rtt: "waktu bolak-balik min/rata-rata/maks {min}/{avg}/{max} ms",
    ping_failed: "Ping ke {host} tidak jalan. Kata ping:",
    ts_not_installed: "Tailscale belum terpasang di mesin ini (lihat tailscale.com/download/linux).",
    ts_failed: "Status Tailscale tidak bisa dibaca. Kata tailscale:",
    ts_head: "Tailscale {version} ({state})",
    ts_me: "Mesin ini: {name} {ips}",
    ts_key_off: "Kunci: tanpa kedaluwarsa",
    ts_key_expired: "⚠️ Kunci kedaluwarsa {when}; masuk lagi dengan <code>tailscale up</code>.",
    ts_key_expires: "Kunci berlaku sampai {when} (tinggal {days} hari)",
    ts_online: "Perangkat online: {n}",
    ts_offline: "Perangkat offline: {n}",
    ts_seen: "terakhir terlihat {when}",
    ts_never_seen: "belum pernah terlihat",
    ts_exit_node: " [exit node]",
    ts_health: "Catatan kesehatan dari Tailscale:",
    speed_not_installed: "speedtest-cli belum terpasang; pasang dengan <code>{hint}</code>.",
    speed_done: "⬇️ unduh {down} Mbit/s\n⬆️ unggah {up} Mbit/s\nping {ping} ms",
    speed_server: "server: {server}",
    speed_distance: ", {km} km",
    speed_isp: "ISP: {isp}",
    apt_up_to_date: "Semua paket sudah terbaru.",
    apt_count: "📦 {n} paket bisa diperbarui:",
    apt_reboot: "⚠️ Perlu reboot setelah pembaruan terakhir.",
    apt_bad_report: "jawaban helper untuk apt update tidak bisa saya baca",
    pip_in_sync: "Venv sudah sinkron; tidak ada yang dipasang.",
    pip_installed: "{n} paket dipasang atau diganti:",
    git_up_to_date: "{repo}: sudah terbaru ({head})",
    git_updated: "{repo}: {range} ({n} commit baru)",
    git_not_ff: "{repo}: tidak bisa fast-forward, tidak ada yang diubah. Kata git:",
    git_failed: "{repo}: tidak bisa ditarik. Kata git:",
    git_not_updated: "{bad} dari {n} repositori tidak diperbarui",
    lines_earlier: "[… {n} baris awal tidak ditampilkan; selengkapnya di dokumen]",
    lines_more: "+{n} lagi di dokumen",
    job_aborted: "jalannya terhenti tidak wajar; detailnya di /log_runtime",
};
