# Renders `hivesim run --html`, `diff --html`, `sweep --html` and `graph --format svg` in
# headless Chromium: each
# screenshot must not be blank (much larger than a blank page's) and the browser must log no
# console message. A control page that logs an error proves the console check can see one.
# Also: two `graph --format svg` runs give the same bytes. Run by ctest with -D HIVESIM,
# CHROMIUM, SCENARIO, BEFORE, AFTER (the diff pair, BEFORE also swept), WORK (a scratch folder
# in the build tree).
foreach(var HIVESIM CHROMIUM SCENARIO BEFORE AFTER WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "html_in_chromium.cmake: -D${var}=... is missing")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

# shoot(PAGE PNG LOG_VAR): screenshot PAGE into PNG; LOG_VAR gets the console lines.
function(shoot page png log_var)
  file(MAKE_DIRECTORY ${WORK}/profile)
  execute_process(
    COMMAND ${CHROMIUM} --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
            --disable-background-networking --disable-component-update --disable-sync
            --user-data-dir=${WORK}/profile --hide-scrollbars --enable-logging=stderr --v=0
            --window-size=1280,2000 --screenshot=${png} file://${page}
    RESULT_VARIABLE rc ERROR_VARIABLE log OUTPUT_QUIET TIMEOUT 120)
  file(REMOVE_RECURSE ${WORK}/profile)
  if(NOT rc EQUAL 0 OR NOT EXISTS ${png})
    message(FATAL_ERROR "chromium could not screenshot ${page} (exit ${rc}):\n${log}")
  endif()
  string(REGEX MATCHALL "[^\n]*:CONSOLE[^\n]*" console "${log}")
  set(${log_var} "${console}" PARENT_SCOPE)
endfunction()

function(png_size png out_var)
  file(SIZE ${png} size)
  file(READ ${png} magic LIMIT 8 HEX)
  if(NOT magic STREQUAL "89504e470d0a1a0a")
    message(FATAL_ERROR "${png} is not a PNG")
  endif()
  set(${out_var} ${size} PARENT_SCOPE)
endfunction()

# The control: the background the report uses, nothing else, and one console error.
file(WRITE ${WORK}/control.html
     "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>"
     "<body style=\"background:#f1f5f9\"><script>console.error('control');</script></body></html>")
shoot(${WORK}/control.html ${WORK}/control.png control_console)
if(NOT control_console MATCHES "control")
  message(FATAL_ERROR "the console check saw nothing from the control page")
endif()
png_size(${WORK}/control.png blank)

execute_process(COMMAND ${HIVESIM} run ${SCENARIO} --quiet --html ${WORK}/report.html
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0 AND NOT rc EQUAL 1)
  message(FATAL_ERROR "hivesim run --html failed (exit ${rc}): ${err}")
endif()
execute_process(COMMAND ${HIVESIM} graph ${SCENARIO} --format svg -o ${WORK}/graph.svg
                RESULT_VARIABLE rc ERROR_VARIABLE err)
execute_process(COMMAND ${HIVESIM} graph ${SCENARIO} --format svg -o ${WORK}/graph2.svg)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hivesim graph --format svg failed (exit ${rc}): ${err}")
endif()
file(SHA256 ${WORK}/graph.svg first)
file(SHA256 ${WORK}/graph2.svg second)
if(NOT first STREQUAL second)
  message(FATAL_ERROR "two graph --format svg runs differ")
endif()

# The what-if pages: both exit 1 on the example pair (a regression; variants that break
# expectations).
execute_process(COMMAND ${HIVESIM} diff ${BEFORE} ${AFTER} --html ${WORK}/diff.html
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 1 OR NOT EXISTS ${WORK}/diff.html)
  message(FATAL_ERROR "hivesim diff --html failed (exit ${rc}): ${err}")
endif()
execute_process(COMMAND ${HIVESIM} sweep ${BEFORE} --fail host,agent,link,nsdb,port --quiet
                        --html ${WORK}/sweep.html
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 1 OR NOT EXISTS ${WORK}/sweep.html)
  message(FATAL_ERROR "hivesim sweep --html failed (exit ${rc}): ${err}")
endif()

foreach(page report.html graph.svg diff.html sweep.html)
  shoot(${WORK}/${page} ${WORK}/${page}.png console)
  if(NOT console STREQUAL "")
    message(FATAL_ERROR "${page} logged to the browser console:\n${console}")
  endif()
  png_size(${WORK}/${page}.png size)
  math(EXPR floor "${blank} * 3")
  if(size LESS floor)
    message(FATAL_ERROR "${page}.png looks blank: ${size} bytes, a blank page is ${blank}")
  endif()
  message(STATUS "${page}: ${size} bytes of PNG (blank page: ${blank}), no console message")
endforeach()
