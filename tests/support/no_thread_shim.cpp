// Preloaded into a process to make every pthread_create fail with EAGAIN, as a process or
// memory limit would: see the replay_without_threads test in tests/CMakeLists.txt.
#include <pthread.h>

#include <cerrno>

extern "C" int pthread_create(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*) {
  return EAGAIN;
}
