//! The route that publishes the public keys (`publish_keys`) for verifiers to fetch.

use std::io::Cursor;
use std::sync::Arc;

use rocket::data::Data;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::Request;
use rocket::response::Response;
use rocket::route::{self, Handler, Route};

use crate::config::PublishSetup;

/// Serves the key document, built once at ignite, with the configured `Cache-Control`.
#[derive(Clone)]
struct KeyDocumentRoute {
    body: Arc<[u8]>,
    cache_control: Arc<str>,
}

#[rocket::async_trait]
impl Handler for KeyDocumentRoute {
    async fn handle<'r>(&self, _request: &'r Request<'_>, _data: Data<'r>) -> route::Outcome<'r> {
        let response = Response::build()
            .status(Status::Ok)
            .header(ContentType::JSON)
            .header(Header::new("Cache-Control", self.cache_control.to_string()))
            .sized_body(self.body.len(), Cursor::new(self.body.clone()))
            .finalize();
        route::Outcome::Success(response)
    }
}

/// The `GET` route of the key document (Rocket answers `HEAD` with it too).
pub(crate) fn key_document_route(setup: &PublishSetup) -> Route {
    let handler = KeyDocumentRoute {
        body: Arc::from(setup.body.as_bytes()),
        cache_control: Arc::from(format!("public, max-age={}", setup.max_age)),
    };
    Route::new(Method::Get, &setup.path, handler)
}
