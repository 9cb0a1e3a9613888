# Replays a capture twice, normally and with the no_thread_shim preloaded (every pthread_create
# fails), and requires both runs to succeed with the same report: PcapSource then reads on the
# caller's thread. Run by ctest (tests/CMakeLists.txt) with -D HIVESIM, SHIM, SCENARIO, PCAP.
foreach(var HIVESIM SHIM SCENARIO PCAP)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "replay_without_threads.cmake: -D${var}=... is missing")
  endif()
endforeach()
set(replay ${HIVESIM} replay ${SCENARIO} --pcap ${PCAP} --port tap --format json)
execute_process(COMMAND ${replay} OUTPUT_VARIABLE normal RESULT_VARIABLE normal_rc)
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env LD_PRELOAD=${SHIM} ASAN_OPTIONS=verify_asan_link_order=0
          ${replay}
  OUTPUT_VARIABLE threadless RESULT_VARIABLE threadless_rc ERROR_VARIABLE threadless_err)
if(NOT normal_rc EQUAL 0)
  message(FATAL_ERROR "the normal replay failed: exit ${normal_rc}")
endif()
if(NOT threadless_rc EQUAL 0)
  message(FATAL_ERROR "the replay without threads failed: exit ${threadless_rc}\n${threadless_err}")
endif()
if(NOT normal STREQUAL threadless)
  message(FATAL_ERROR "the replay without threads reports differently:\n${threadless}\n"
                      "instead of\n${normal}")
endif()
