#include "common/thread_name.h"

#include <pthread.h>

#include <string>
#include <utility>

namespace byok {

void NameThisThread(absl::string_view name) {
  // The kernel's limit: 16 bytes with the terminating NUL.
  std::string name_z(name.substr(0, 15));
  pthread_setname_np(pthread_self(), name_z.c_str());
}

std::thread StartNamedThread(absl::string_view name, std::function<void()> body) {
  return std::thread([name = std::string(name), body = std::move(body)] {
    NameThisThread(name);
    body();
  });
}

std::string ThisThreadName() {
  char name[16] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0) return "";
  return name;
}

}  // namespace byok
