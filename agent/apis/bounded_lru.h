// A map with a fixed capacity that forgets its least recently used entry when
// full. The analytics tables (identities, identity x endpoint baselines,
// pending requests) use it so memory stays bounded whatever the traffic, and
// count what they forgot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>

namespace rampart::apis {

template <typename Key, typename Value, typename HashFn = std::hash<Key>>
class BoundedLru {
 public:
  explicit BoundedLru(size_t capacity) : capacity_(capacity) {}

  // The entry for `key`, marked as just used; nullptr when absent.
  Value* Find(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  // The entry for `key`, created with `Value{}` when absent (evicting the
  // least recently used one when full). `created` tells which. A capacity of
  // zero holds nothing: the returned value is a scratch slot.
  Value& FindOrCreate(const Key& key, bool* created = nullptr) {
    if (Value* v = Find(key)) {
      if (created) *created = false;
      return *v;
    }
    if (created) *created = true;
    if (capacity_ == 0) {
      scratch_ = Value{};
      return scratch_;
    }
    if (index_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
      ++evicted_;
    }
    order_.emplace_front(key, Value{});
    index_.emplace(key, order_.begin());
    return order_.front().second;
  }

  bool Erase(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }

  // Calls fn(key, value) for each entry, most recently used first.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [key, value] : order_) fn(key, value);
  }

  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t evicted() const { return evicted_; }

 private:
  using Entry = std::pair<Key, Value>;
  size_t capacity_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<Key, typename std::list<Entry>::iterator, HashFn> index_;
  Value scratch_{};
  uint64_t evicted_ = 0;
};

}  // namespace rampart::apis
