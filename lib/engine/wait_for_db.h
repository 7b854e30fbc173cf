// apply --wait-for-db DUR (contract section 7): for deploy scripts that start together
// with the database, connecting is retried while the server is not there
// yet or not ready: connection refused (or its socket absent), starting up,
// in recovery, not yet accepting connections. Any other failure (wrong
// password, unknown database, bad host name) is not retried.
#pragma once

#include <chrono>
#include <memory>

#include "db/connection.h"
#include "engine/report.h"

namespace dbmig::engine {

// True when `error`, from opening a connection, says the server is not
// (yet) able to accept it, so that trying again later may succeed.
[[nodiscard]] bool server_not_ready(const db::DbError& error);

// Opens a connection like open_connection (server.h); while it fails with
// server_not_ready() it retries (every 200 ms, backing off to 1 s) until
// `wait` has passed, reporting the wait once (event "wait_for_db"). With
// `wait` zero it tries once. Throws the last db::DbError when it gives up.
[[nodiscard]] std::unique_ptr<db::Connection> open_connection_waiting(
    const db::ConnectOptions& options, std::chrono::milliseconds wait, Reporter& reporter);

}  // namespace dbmig::engine
