# sweep under mpirun prints the report that one worker prints, byte for byte: two ranks of one
# worker each, and three ranks of two workers each (variants handed out as ranks ask; one
# rank's requests taking turns).
set(args sweep ${SCENARIO} --fail host,agent,link,nsdb,port --format json --quiet)
execute_process(COMMAND ${HIVESIM} ${args} --jobs 1 OUTPUT_VARIABLE single RESULT_VARIABLE rc1)
if(NOT rc1 MATCHES "^[01]$")
  message(FATAL_ERROR "sweep failed: ${rc1}")
endif()
if(single STREQUAL "")
  message(FATAL_ERROR "sweep printed nothing")
endif()

function(same_under_mpi ranks)
  execute_process(COMMAND ${MPIRUN} --allow-run-as-root --oversubscribe -n ${ranks} ${HIVESIM}
                          ${args} ${ARGN}
                  OUTPUT_VARIABLE distributed RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT single STREQUAL distributed)
    message(FATAL_ERROR "mpirun -n ${ranks} ${ARGN} printed another report (exit ${rc}):\n"
                        "${distributed}")
  endif()
endfunction()

same_under_mpi(2)
same_under_mpi(3 --jobs 2)
