# sweep under `mpirun -n 2` prints the report that one worker prints, byte for byte.
set(args sweep ${SCENARIO} --fail host,agent,link,nsdb,port --format json --quiet)
execute_process(COMMAND ${HIVESIM} ${args} --jobs 1 OUTPUT_VARIABLE single RESULT_VARIABLE rc1)
execute_process(COMMAND ${MPIRUN} --allow-run-as-root --oversubscribe -n 2 ${HIVESIM} ${args}
                OUTPUT_VARIABLE distributed RESULT_VARIABLE rc2 ERROR_QUIET)
if(NOT rc1 MATCHES "^[01]$")
  message(FATAL_ERROR "sweep failed: ${rc1}")
endif()
if(single STREQUAL "")
  message(FATAL_ERROR "sweep printed nothing")
endif()
if(NOT single STREQUAL distributed)
  message(FATAL_ERROR "mpirun -n 2 printed another report (exit ${rc2}):\n${distributed}")
endif()
