# `run --html` and `diff --html` write the same page in every process. Graphviz orders some of
# its sets by memory address, so a layout made after a simulation (on whatever heap the run left,
# under address-space randomisation) moved nodes by a few points in about one process in five;
# the commands now lay out first (sim/cli/cli_common.hpp, topology_picture). Eight processes
# each, compared byte for byte with the first.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
function(same_pages label)
  set(first "")
  foreach(i RANGE 1 8)
    set(page ${WORK}/${label}-${i}.html)
    execute_process(COMMAND ${HIVESIM} ${ARGN} --html ${page} RESULT_VARIABLE rc
                    OUTPUT_QUIET ERROR_QUIET)
    if(NOT rc MATCHES "^[01]$")
      message(FATAL_ERROR "${label}: exit ${rc}")
    endif()
    file(SHA256 ${page} sum)
    if(first STREQUAL "")
      set(first ${sum})
    elseif(NOT sum STREQUAL first)
      message(FATAL_ERROR "${label}: process ${i} wrote another page than process 1 (${page})")
    endif()
  endforeach()
endfunction()
same_pages(run run ${SCENARIO} --quiet)
same_pages(diff diff ${BEFORE} ${AFTER})
