//! The TLS side of `http::get` for `https://` probes and pings: rustls
//! (already built for the bot) with the `ring` provider and the Mozilla
//! roots compiled in, so no certificate store on disk is needed.

use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};

/// A client connection to `host`, verified against the Mozilla roots.
pub fn client(host: &str) -> Result<ClientConnection> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("setting up TLS")?
            .with_root_certificates(roots)
            .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .with_context(|| format!("{host} is not a TLS server name"))?;
    ClientConnection::new(Arc::new(config), name).context("starting TLS")
}
