//! Codecs. [`StrictCodec`]: what the server's SQLFlow service decodes requests with:
//! prost's, except that a request that does not decode (bad UTF-8 in a string, a
//! truncated field) is the client's fault and answers `INVALID_ARGUMENT`. tonic's own
//! codec says `INTERNAL`, which tells a client to blame the server and retry.
//! [`SliceCodec`]: what the generated client decodes replies with: prost's, run over
//! the message as one contiguous slice.

use std::marker::PhantomData;

use prost::{Message, bytes::Buf};
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstEncoder};

/// Prost's encoding; decoding takes the message out of tonic's buffer as one contiguous
/// `Bytes` first and decodes from a plain slice, where prost's varint and length reads
/// take their fast paths instead of a bounds-checked `Buf` call per field. `F` says
/// whose fault a message that does not decode is.
pub struct SliceDecoding<T, U, F> {
    _types: PhantomData<(T, U, F)>,
}

/// What the server decodes requests with: a bad request is `INVALID_ARGUMENT`.
pub type StrictCodec<T, U> = SliceDecoding<T, U, ClientFault>;
/// What the client decodes replies with: a bad reply is `INTERNAL`, as in tonic's codec.
pub type SliceCodec<T, U> = SliceDecoding<T, U, ServerFault>;

/// The status of a message that does not decode.
pub trait Fault: Send + 'static {
    fn status(e: prost::DecodeError) -> Status;
}

/// The peer sent a request that does not decode.
pub struct ClientFault;

impl Fault for ClientFault {
    fn status(e: prost::DecodeError) -> Status {
        Status::invalid_argument(format!("the request did not decode: {e}"))
    }
}

/// The server sent a reply that does not decode.
pub struct ServerFault;

impl Fault for ServerFault {
    fn status(e: prost::DecodeError) -> Status {
        Status::internal(format!("a message did not decode: {e}"))
    }
}

impl<T, U, F> Default for SliceDecoding<T, U, F> {
    fn default() -> Self {
        Self {
            _types: PhantomData,
        }
    }
}

impl<T, U, F> Codec for SliceDecoding<T, U, F>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
    F: Fault,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = SliceDecoder<U, F>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        SliceDecoder(PhantomData)
    }
}

pub struct SliceDecoder<U, F>(PhantomData<(U, F)>);

impl<U: Message + Default, F: Fault> Decoder for SliceDecoder<U, F> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let message = buf.copy_to_bytes(buf.remaining());
        U::decode(&message[..]).map(Some).map_err(F::status)
    }
}
