//! The connection to the server: the address, TLS, the access token on every request,
//! and gRPC errors in words.

use std::time::Duration;

use sqlflow_grpc::sql_flow_client::SqlFlowClient;
use tonic::{
    Status,
    metadata::MetadataValue,
    transport::{Certificate, Channel, ClientTlsConfig},
};

use crate::args::Conn;

pub struct Client {
    pub inner: SqlFlowClient<Channel>,
    pub token: Option<String>,
    server: String,
}

impl Client {
    pub async fn connect(conn: &Conn) -> Result<Self, String> {
        let server = if conn.server.contains("://") {
            conn.server.clone()
        } else {
            format!("http://{}", conn.server)
        };
        let mut endpoint = Channel::from_shared(server.clone())
            .map_err(|e| format!("invalid server address '{}': {e}", conn.server))?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5));
        if server.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(ca) = &conn.ca_cert {
                let pem = std::fs::read(ca)
                    .map_err(|e| format!("cannot read the CA certificate {}: {e}", ca.display()))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| format!("cannot set up TLS for {server}: {e}"))?;
        }
        // Lazy: a server that is restarting is retried by the fetch loop.
        let channel = endpoint.connect_lazy();
        Ok(Self {
            inner: SqlFlowClient::new(channel).max_decoding_message_size(64 << 20),
            token: conn.token.clone(),
            server,
        })
    }

    pub fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        if let Some(t) = &self.token
            && let Ok(v) = MetadataValue::try_from(format!("Bearer {t}"))
        {
            req.metadata_mut().insert("authorization", v);
        }
        req
    }

    pub fn explain(&self, s: &Status) -> String {
        match s.code() {
            tonic::Code::Unavailable => format!(
                "cannot reach the SQLFlow server at {}: {} (set --server or SQLFLOW_SERVER)",
                self.server,
                s.message()
            ),
            _ => format!("{}: {}", code_name(s.code()), s.message()),
        }
    }
}

/// `NotFound` → `NOT_FOUND`, as gRPC's documentation names the codes.
fn code_name(c: tonic::Code) -> String {
    format!("{c:?}")
        .chars()
        .enumerate()
        .flat_map(|(i, ch)| {
            let sep = (i > 0 && ch.is_uppercase()).then_some('_');
            sep.into_iter()
                .chain(std::iter::once(ch.to_ascii_uppercase()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_named_as_grpc_names_them() {
        assert_eq!(super::code_name(tonic::Code::NotFound), "NOT_FOUND");
        assert_eq!(super::code_name(tonic::Code::Internal), "INTERNAL");
    }
}
