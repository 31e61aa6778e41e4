//! Loopback stand-ins for delivery services a test machine cannot reach. Each is a real HTTP
//! server on 127.0.0.1 that checks requests as the service does (answering its exact error
//! bodies) and can be told to fail the way the service fails, so the server's production code
//! path is tested unchanged: only the endpoint differs.

pub mod apns;
pub mod expo;
pub mod fcm;
pub mod whatsapp;

pub use apns::{ApnsReply, FakeApns};
pub use expo::FakeExpo;
pub use fcm::{FakeFcm, Reply};
pub use whatsapp::{FakeWhatsapp, WaReply};
