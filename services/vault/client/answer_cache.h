// A bounded, aged cache of the vault's answers about a token (the relay's resolved keys, the
// gateway's verified tokens), trusted only while a WatchKeyChanges subscription is live: it is a
// KeyChangeListener that drops what each change names, empties itself when the subscription breaks
// and keeps nothing until it is live again. Entries are found by a hash of the token, never the
// token itself.
#ifndef BYOK_SERVICES_VAULT_CLIENT_ANSWER_CACHE_H_
#define BYOK_SERVICES_VAULT_CLIENT_ANSWER_CACHE_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/vault/client/answer_cache_options.h"
#include "services/vault/client/key_change_watch.h"

namespace byok::vault {

// SHA-256 of `scope`, a zero byte and `token`: where an entry is found.
using TokenHash = std::array<uint8_t, 32>;
TokenHash HashToken(absl::string_view token, absl::string_view scope);

// Says whether an insertion may happen: taken when a lookup misses, before asking the vault. An
// answer is kept only when nothing was invalidated between the ticket and the insertion (the answer
// may predate the change), and only while subscribed. A default ticket never inserts.
struct CacheTicket {
  uint64_t generation = 0;
};

// Thread-safe. `Value` is destroyed (and so wiped, for a secret) when its entry goes: evicted, aged
// out, invalidated or dropped with everything.
template <typename Value>
class AnswerCache final : public KeyChangeListener {
 public:
  explicit AnswerCache(AnswerCacheOptions options) : options_(std::move(options)) {}

  bool enabled() const { return options_.max_entries > 0 && options_.ttl > absl::ZeroDuration(); }

  // On a live entry, calls `read(value, user_id)` under the cache's lock and returns true. On a
  // miss returns false and sets `*ticket` for a later Insert.
  template <typename Read>
  bool Find(const TokenHash& key, Read&& read, CacheTicket* ticket) {
    absl::MutexLock lock(&mu_);
    *ticket = subscribed_ && enabled() ? CacheTicket{generation_} : CacheTicket{};
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    if (options_.now() >= it->second.expires) {
      Erase(it);
      return false;
    }
    lru_.splice(lru_.begin(), lru_, it->second.position);
    read(static_cast<const Value&>(it->second.value), static_cast<const std::string&>(it->second.user_id));
    return true;
  }

  // Keeps `value` for `key` (the user's, for `provider`, empty when none) until the TTL or
  // `not_after` (the token's expiry), whichever comes first, unless `ticket` is stale. Returns
  // whether it was kept. Evicts the least recently used entry when full.
  bool Insert(const CacheTicket& ticket, const TokenHash& key, std::string user_id,
              std::string provider, absl::Time not_after, Value value) {
    absl::MutexLock lock(&mu_);
    if (ticket.generation == 0 || ticket.generation != generation_ || !subscribed_) return false;
    const absl::Time expires = std::min(options_.now() + options_.ttl, not_after);
    if (expires <= options_.now() || user_id.empty()) return false;
    if (auto old = entries_.find(key); old != entries_.end()) Erase(old);
    while (entries_.size() >= options_.max_entries && !lru_.empty()) Erase(entries_.find(lru_.back()));
    lru_.push_front(key);
    by_user_[user_id].insert(key);
    entries_.try_emplace(key, Entry{std::move(user_id), std::move(provider), expires,
                                    std::move(value), lru_.begin()});
    return true;
  }

  // Drops `key`'s entry at once; an answer asked for before is not kept either.
  void Forget(const TokenHash& key) {
    absl::MutexLock lock(&mu_);
    ++generation_;
    if (auto it = entries_.find(key); it != entries_.end()) Erase(it);
  }

  void OnSubscribed() override {
    absl::MutexLock lock(&mu_);
    DropAll();
    subscribed_ = true;
  }

  void OnChange(const v1::WatchKeyChangesResponse& change) override {
    absl::MutexLock lock(&mu_);
    ++generation_;
    switch (change.kind()) {
      case v1::WatchKeyChangesResponse::KIND_KEY_CHANGED:
        if (!change.provider().empty()) {
          DropUser(change.user_id(), &change.provider());
          return;
        }
        DropUser(change.user_id(), nullptr);
        return;
      case v1::WatchKeyChangesResponse::KIND_USER_CHANGED:
        DropUser(change.user_id(), nullptr);
        return;
      default:  // KIND_RESET, and any kind this build does not know
        DropAll();
        return;
    }
  }

  void OnUnsubscribed() override {
    absl::MutexLock lock(&mu_);
    subscribed_ = false;
    DropAll();
  }

  bool subscribed() {
    absl::MutexLock lock(&mu_);
    return subscribed_;
  }

  size_t size() {
    absl::MutexLock lock(&mu_);
    return entries_.size();
  }

  // Calls `f(value)` for every entry, under the lock (tests look at where values live).
  template <typename F>
  void ForEachForTesting(F&& f) {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, entry] : entries_) f(static_cast<const Value&>(entry.value));
  }

 private:
  struct Entry {
    std::string user_id;
    std::string provider;
    absl::Time expires;
    Value value;
    typename std::list<TokenHash>::iterator position;
  };
  using Map = absl::node_hash_map<TokenHash, Entry>;

  void Erase(typename Map::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto user = by_user_.find(it->second.user_id);
    if (user != by_user_.end()) {
      user->second.erase(it->first);
      if (user->second.empty()) by_user_.erase(user);
    }
    lru_.erase(it->second.position);
    entries_.erase(it);
  }

  // Drops `user_id`'s entries (for `provider` only, when given).
  void DropUser(const std::string& user_id, const std::string* provider)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto user = by_user_.find(user_id);
    if (user == by_user_.end()) return;
    std::vector<TokenHash> keys(user->second.begin(), user->second.end());
    for (const TokenHash& key : keys) {
      auto it = entries_.find(key);
      if (it != entries_.end() && (provider == nullptr || it->second.provider == *provider)) Erase(it);
    }
  }

  void DropAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++generation_;
    entries_.clear();
    by_user_.clear();
    lru_.clear();
  }

  const AnswerCacheOptions options_;
  absl::Mutex mu_;
  bool subscribed_ ABSL_GUARDED_BY(mu_) = false;
  // Moves on every invalidation; 0 is never a live generation.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  Map entries_ ABSL_GUARDED_BY(mu_);
  std::list<TokenHash> lru_ ABSL_GUARDED_BY(mu_);  // most recently used first
  absl::flat_hash_map<std::string, absl::flat_hash_set<TokenHash>> by_user_ ABSL_GUARDED_BY(mu_);
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_CLIENT_ANSWER_CACHE_H_
