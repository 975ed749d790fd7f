//! The built-in denylist: unit classes the helper never starts, stops or
//! restarts, whatever the allowlist says.

use globset::Glob;

/// Units never controlled from chat, whatever the allowlist says: glob
/// patterns over full unit names (aliases are checked by their real name
/// too). Each group is a way from the bot's user to root, or a way to cut
/// the owner off the machine. The allowlist can only narrow what the helper
/// does, never widen it past this list.
pub const DENYLIST: &[&str] = &[
    // A shell or a login: recovery shells, consoles, user managers.
    "debug-shell.service",
    "emergency.service",
    "rescue.service",
    "*getty*.service",
    "autovt@*.service",
    "console-shell.service",
    "user@*.service",
    "user-runtime-dir@*.service",
    // Rebooting, powering off, replacing the kernel.
    "kexec*.service",
    "reboot*.service",
    "poweroff*.service",
    "halt*.service",
    "ctrl-alt-del*.service",
    // Loading kernel modules.
    "modprobe@*.service",
    "kmod*.service",
    // The system manager itself, login sessions, the bus, sudo and polkit.
    "systemd-*.service",
    "dbus*.service",
    "polkit*.service",
    "sudo*.service",
    "accounts-daemon.service",
    // Remote access.
    "dropbear*.service",
    "tailscaled*.service",
    "openvpn*.service",
    "wg-quick@*.service",
    "zerotier*.service",
    "xrdp*.service",
    "*ssh*.service",
    "cloudflared*.service",
    "*vnc*.service",
    "ngrok*.service",
    "frpc*.service",
    "nebula*.service",
    "strongswan*.service",
    "ipsec.service",
    "teamviewerd.service",
    "anydesk.service",
    "rustdesk*.service",
    "cockpit*.service",
    "webmin.service",
    // Logging in at the screen, and the accounts behind a login.
    "gdm*.service",
    "display-manager.service",
    "lightdm.service",
    "sddm.service",
    "lxdm.service",
    "xdm.service",
    "greetd.service",
    "sssd*.service",
    "nslcd.service",
    "winbind.service",
    // Networking.
    "networking.service",
    "NetworkManager*.service",
    "wpa_supplicant*.service",
    "ifup@*.service",
    "dhcpcd*.service",
    "connman*.service",
    "iwd.service",
    "ModemManager.service",
    "hostapd*.service",
    "dnsmasq*.service",
    "avahi-daemon.service",
    "ifupdown*.service",
    "dhclient*.service",
    "networkd-dispatcher.service",
    "resolvconf.service",
    // Firewall and confinement: stopping one opens the machine up, a restart
    // with a broken rule set can lock the owner out.
    "ufw.service",
    "nftables.service",
    "firewalld.service",
    "netfilter-persistent.service",
    "iptables.service",
    "ip6tables.service",
    "apparmor.service",
    "usbguard*.service",
    // Audit and logs: stopping one hides what happens next.
    "fail2ban.service",
    "sshguard.service",
    "crowdsec*.service",
    "auditd.service",
    "rsyslog.service",
    "syslog*.service",
    // Boot, shutdown and offline updates: run outside normal operation,
    // some switch root or reboot when they finish.
    "initrd-*.service",
    "capsule@*.service",
    "packagekit-offline-update.service",
    "system-update*.service",
    "plymouth*.service",
    "blk-availability.service",
    "cryptdisks*.service",
    "lvm2-*.service",
];

/// The first [`DENYLIST`] pattern `unit` matches.
pub fn denied(unit: &str) -> Option<&'static str> {
    DENYLIST.iter().copied().find(|p| {
        Glob::new(p)
            .expect("valid")
            .compile_matcher()
            .is_match(unit)
    })
}
