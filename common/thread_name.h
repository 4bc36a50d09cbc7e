// Names threads, so `top -H`, `ps -L`, perf and bench/switches.sh tell the suite's threads
// apart (in byok-relay, all three services share one process).
#ifndef BYOK_COMMON_THREAD_NAME_H_
#define BYOK_COMMON_THREAD_NAME_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"

namespace byok {

// Sets the calling thread's name; Linux keeps the first 15 bytes.
void NameThisThread(absl::string_view name);

// Starts a thread named `name` that runs `body`.
std::thread StartNamedThread(absl::string_view name, std::function<void()> body);

// The calling thread's name, as the kernel holds it.
std::string ThisThreadName();

}  // namespace byok

#endif  // BYOK_COMMON_THREAD_NAME_H_
