//! The texts of the server's own senses in chat: `/smart`, `/smart_ack`,
//! the staged power response and the battery lines of the power alerts.
//! The struct and both languages live here, Indonesian first; `Texts`
//! points at them (`Texts::senses`). Templates use `{name}` placeholders;
//! values from outside are HTML-escaped before they go in.

/// The senses' texts in one language.
pub struct SenseTexts {
    /// `(command, arguments, description)` of `/smart` and `/smart_ack`.
    pub commands: &'static [(&'static str, &'static str, &'static str)],

    /// `/smart`'s headline.
    pub smart_head: &'static str,
    /// One disk's first line: `{dev}`, `{model}`.
    pub disk: &'static str,
    /// The overall health self-assessment passed / failed / is not known.
    pub passed: &'static str,
    pub failed: &'static str,
    pub status_unknown: &'static str,
    /// `{hours}` of power-on time.
    pub power_on: &'static str,
    /// `{temp}` in °C.
    pub temp: &'static str,
    /// NVMe wear: `{percent}` of rated life used.
    pub life_used: &'static str,
    /// Above the counters: now and the accepted baseline.
    pub counters_head: &'static str,
    /// A counter at its baseline: `{name}`, `{now}`, `{base}`.
    pub counter_ok: &'static str,
    /// A counter grown over its baseline: `{name}`, `{now}`, `{base}`.
    pub counter_grown: &'static str,
    /// When smartctl last answered: `{at}`.
    pub checked: &'static str,
    /// The disk was asleep at the last check and was left asleep.
    pub standby: &'static str,
    /// How to accept grown counters: `{dev}` (a device name without `/dev/`).
    pub ack_hint: &'static str,
    /// No SMART check has run yet.
    pub never_ran: &'static str,
    /// smartctl is not installed.
    pub no_smartctl: &'static str,
    /// An NVMe disk whose health log needs `CAP_SYS_ADMIN`: `{dev}`.
    pub nvme_admin: &'static str,
    /// smartctl could not read a device: `{dev}`, `{why}` (smartctl's own words).
    pub unreadable: &'static str,
    /// A smartctl answer that could not be read: `{err}`.
    pub check_error: &'static str,
    /// `smart-state.json` cannot be read.
    pub state_corrupt: &'static str,

    /// `/smart_ack` without exactly one device.
    pub ack_usage: &'static str,
    /// No disk is known yet, so nothing can be accepted.
    pub ack_no_disks: &'static str,
    /// A device that is not one of the checked disks: `{dev}`, `{known}`.
    pub ack_unknown: &'static str,
    /// The question's action: `{dev}`.
    pub ack_action: &'static str,
    /// Accepted: `{dev}`, then one line per counter (`{list}`).
    pub ack_done: &'static str,
    /// A disk without counters: `{dev}`.
    pub ack_done_empty: &'static str,
    /// The disk vanished between the question and the Yes: `{dev}`.
    pub ack_gone: &'static str,
    /// The state file could not be read or written: `{err}`.
    pub ack_failed: &'static str,

    /// The helper action `power off`, for its question and its result.
    pub action_power_off: &'static str,
    /// Before stopping units: `{percent}`, `{units}`, `{minutes}`.
    pub shed_announce: &'static str,
    /// Before powering off: `{percent}`, `{minutes}`.
    pub off_announce: &'static str,
    /// Above the per-unit outcome of a shed.
    pub shed_head: &'static str,
    /// A unit stopped: `{unit}`.
    pub shed_ok: &'static str,
    /// A unit the helper did not stop: `{unit}`, `{err}`.
    pub shed_failed: &'static str,
    /// The helper accepted `power off`.
    pub off_ok: &'static str,
    /// The helper refused or failed `power off`: `{err}`.
    pub off_failed: &'static str,
    /// Under `ON_BATTERY`'s cleared message: `{for}`.
    pub ran_on_battery: &'static str,
}

pub static ID: SenseTexts = SenseTexts {
    commands: &[
        (
            "smart",
            "",
            "kesehatan disk (SMART): penghitung dan baseline-nya",
        ),
        (
            "smart_ack",
            "<disk>",
            "terima angka SMART sekarang sebagai baseline baru",
        ),
    ],
    smart_head: "💽 <b>Kesehatan disk (SMART)</b>",
    disk: "<b>{dev}</b> · {model}",
    passed: "✅ lolos cek kesehatan",
    failed: "❌ GAGAL cek kesehatan",
    status_unknown: "status kesehatan belum diketahui",
    power_on: "sudah menyala {hours} jam",
    temp: "{temp}°C",
    life_used: "umur terpakai {percent}%",
    counters_head: "Penghitung (sekarang / baseline):",
    counter_ok: "  <code>{name}</code> {now} / {base}",
    counter_grown: "  ⚠️ <code>{name}</code> {now} / {base} (naik)",
    checked: "Dibaca {at}",
    standby: "💤 Disk sedang tidur saat dicek dan saya biarkan tidur; angkanya dari pembacaan sebelumnya.",
    ack_hint: "Kalau kenaikan ini sudah kamu ketahui: /smart_ack {dev}",
    never_ran: "SMART belum pernah dicek. potion-runner-smart.timer menjalankannya sebagai root tiap 10 menit.",
    no_smartctl: "smartctl belum terpasang, jadi disk tidak dicek. Pasang dengan <code>apt install smartmontools</code>.",
    nvme_admin: "{dev} (NVMe) butuh CAP_SYS_ADMIN untuk log kesehatannya. Tambahkan lewat <code>systemctl edit potion-runner-smart</code> (CapabilityBoundingSet=CAP_SYS_ADMIN).",
    unreadable: "SMART {dev} tidak bisa dibaca: <code>{why}</code>",
    check_error: "Jawaban smartctl tidak terbaca: <code>{err}</code>",
    state_corrupt: "⚠️ File SMART (<code>smart-state.json</code>) rusak; akan ditulis ulang di cek berikutnya.",
    ack_usage: "Cara pakainya: <code>/smart_ack &lt;disk&gt;</code>, misalnya <code>/smart_ack sda</code>. Lihat disknya dengan /smart.",
    ack_no_disks: "Belum ada disk yang tercatat SMART-nya, jadi belum ada yang bisa diterima. Lihat /smart.",
    ack_unknown: "Disk <code>{dev}</code> tidak ada di daftar SMART. Yang ada: {known}.",
    ack_action: "menerima angka SMART <b>{dev}</b> sekarang sebagai baseline baru",
    ack_done: "✅ Baseline <b>{dev}</b> sekarang:\n{list}\nPeringatan DISK_SMART-nya hilang di cek kesehatan berikutnya (paling lama satu menit).",
    ack_done_empty: "✅ Baseline <b>{dev}</b> diperbarui (disk ini tidak punya penghitung yang dipantau).",
    ack_gone: "❌ Disk <code>{dev}</code> sudah tidak ada di daftar SMART; tidak ada yang diubah.",
    ack_failed: "❌ Baseline tidak tersimpan: {err}",
    action_power_off: "mematikan server",
    shed_announce: "🔋 Baterai tinggal {percent}%. Dalam {minutes} menit saya hentikan {units} supaya baterai lebih awet. Colokkan lagi adaptornya untuk membatalkan.",
    off_announce: "🔋 Baterai tinggal {percent}%. Dalam {minutes} menit server saya matikan dengan rapi. Colokkan lagi adaptornya untuk membatalkan.",
    shed_head: "🔋 Hemat baterai, hasilnya:",
    shed_ok: "  ✅ {unit} dihentikan",
    shed_failed: "  ❌ {unit} tidak dihentikan: {err}",
    off_ok: "🔋 Server sedang dimatikan (baterai hampir habis).",
    off_failed: "❌ Server tidak jadi dimatikan: {err}",
    ran_on_battery: "Tadi jalan pakai baterai selama {for}.",
};

pub static EN: SenseTexts = SenseTexts {
    commands: &[
        (
            "smart",
            "",
            "disk health (SMART): counters and their baselines",
        ),
        (
            "smart_ack",
            "<disk>",
            "accept the current SMART counts as the new baseline",
        ),
    ],
    smart_head: "💽 <b>Disk health (SMART)</b>",
    disk: "<b>{dev}</b> · {model}",
    passed: "✅ health check passed",
    failed: "❌ health check FAILED",
    status_unknown: "health status not known yet",
    power_on: "on for {hours} h",
    temp: "{temp}°C",
    life_used: "{percent}% of rated life used",
    counters_head: "Counters (now / baseline):",
    counter_ok: "  <code>{name}</code> {now} / {base}",
    counter_grown: "  ⚠️ <code>{name}</code> {now} / {base} (grown)",
    checked: "Read {at}",
    standby: "💤 The disk was asleep at the check and I left it asleep; the numbers are from the reading before.",
    ack_hint: "If you already know about this growth: /smart_ack {dev}",
    never_ran: "SMART has not been checked yet. potion-runner-smart.timer runs it as root every 10 minutes.",
    no_smartctl: "smartctl is not installed, so disks are not checked. Install it with <code>apt install smartmontools</code>.",
    nvme_admin: "{dev} (NVMe) needs CAP_SYS_ADMIN for its health log. Add it with <code>systemctl edit potion-runner-smart</code> (CapabilityBoundingSet=CAP_SYS_ADMIN).",
    unreadable: "SMART of {dev} cannot be read: <code>{why}</code>",
    check_error: "A smartctl answer could not be read: <code>{err}</code>",
    state_corrupt: "⚠️ The SMART file (<code>smart-state.json</code>) is damaged; the next check writes it again.",
    ack_usage: "How to use it: <code>/smart_ack &lt;disk&gt;</code>, for example <code>/smart_ack sda</code>. See the disks with /smart.",
    ack_no_disks: "No disk has SMART readings yet, so there is nothing to accept. See /smart.",
    ack_unknown: "<code>{dev}</code> is not one of the SMART disks. Known: {known}.",
    ack_action: "accept the current SMART counts of <b>{dev}</b> as its new baseline",
    ack_done: "✅ The baseline of <b>{dev}</b> is now:\n{list}\nIts DISK_SMART alert clears at the next health run (within a minute).",
    ack_done_empty: "✅ The baseline of <b>{dev}</b> is updated (this disk has no watched counters).",
    ack_gone: "❌ <code>{dev}</code> is no longer one of the SMART disks; nothing was changed.",
    ack_failed: "❌ The baseline was not saved: {err}",
    action_power_off: "power off the server",
    shed_announce: "🔋 The battery is at {percent}%. In {minutes} minutes I stop {units} to make it last longer. Plug the adapter back in to cancel.",
    off_announce: "🔋 The battery is at {percent}%. In {minutes} minutes I power the server off cleanly. Plug the adapter back in to cancel.",
    shed_head: "🔋 Saving battery, the outcome:",
    shed_ok: "  ✅ {unit} stopped",
    shed_failed: "  ❌ {unit} not stopped: {err}",
    off_ok: "🔋 The server is powering off (the battery is nearly empty).",
    off_failed: "❌ The server was not powered off: {err}",
    ran_on_battery: "It ran on battery for {for}.",
};
