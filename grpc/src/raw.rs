//! `Responses` with its responses left encoded, for code that only forwards them.
//!
//! A runner's Fetch reply can hold tens of thousands of rows. The host never looks inside
//! them, so it reads the reply as [`RawResponses`] (same field numbers and wire types as
//! `Responses`: a message field and a bytes field are both length-delimited) and tonic
//! writes the bytes back out. Decoding from a [`Bytes`] buffer makes each response a view
//! into it rather than a copy.

use prost::bytes::Bytes;

use sqlflow_proto::sqlflow::JobStatus;

#[derive(Clone, PartialEq, prost::Message)]
pub struct RawResponses {
    #[prost(message, optional, tag = "1")]
    pub job_status: Option<JobStatus>,
    /// Each entry is one encoded `sqlflow.Response`.
    #[prost(bytes = "bytes", repeated, tag = "2")]
    pub response: Vec<Bytes>,
    #[prost(string, tag = "3")]
    pub next_cursor: String,
    #[prost(bool, tag = "4")]
    pub eof: bool,
}

/// `service SQLFlow` whose Fetch replies with [`RawResponses`]; wire-identical to
/// [`crate::sql_flow_server`].
pub mod server {
    include!(concat!(env!("OUT_DIR"), "/raw/sqlflow.rs"));
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use sqlflow_proto::sqlflow::{Message as Msg, Response, Responses, job_status::Code, response};

    #[test]
    fn raw_and_decoded_replies_are_the_same_bytes() {
        let reply = Responses {
            job_status: Some(JobStatus {
                code: Code::Running as i32,
                ..Default::default()
            }),
            response: vec![
                Response {
                    response: Some(response::Response::Message(Msg {
                        message: "hello".into(),
                        kind: 0,
                    })),
                },
                Response::default(),
            ],
            next_cursor: "c1".into(),
            eof: true,
        };
        let bytes = Bytes::from(reply.encode_to_vec());
        let raw = RawResponses::decode(bytes.clone()).unwrap();
        assert_eq!(raw.response.len(), 2);
        assert_eq!(raw.next_cursor, "c1");
        assert!(raw.eof);
        assert_eq!(raw.encode_to_vec(), bytes);
        assert_eq!(
            Response::decode(raw.response[0].clone()).unwrap(),
            reply.response[0]
        );
    }
}
