// Running independent pieces of work on the machine's cores.
#pragma once

#include <cstddef>
#include <functional>

namespace dbmig {

// Calls work(i) once for every i in [0, count), on up to
// std::thread::hardware_concurrency() threads (at most 8, and never more
// than count; the calling thread is one of them). `work` must only touch
// what belongs to its own i. Returns when every call has returned; if calls
// threw, the exception of the lowest such i is rethrown after all threads
// have stopped. Deterministic results are the caller's job: write into
// slot i, merge in index order.
void parallel_for(std::size_t count, const std::function<void(std::size_t)>& work);

}  // namespace dbmig
