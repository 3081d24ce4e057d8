# fuzz.cmake: libFuzzer targets (fuzz/fuzz_*.c), built only with -DFSC_FUZZ=ON
# and clang (make fuzz configures build-fuzz/ that way). Everything in such a
# build is compiled with coverage instrumentation, ASan and UBSan; the fuzz
# targets link libFuzzer's main. fuzz/seedgen.c is a plain program that writes
# the Core ML seeds (make_corpus.sh runs it).
option(FSC_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)
if(FSC_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FSC_FUZZ needs clang (configure with CC=clang)")
  endif()
  if(FSC_CUDA_ENABLED)
    message(FATAL_ERROR "FSC_FUZZ needs -DFSC_CUDA=OFF (nvcc links with a host compiler without libFuzzer)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
  file(GLOB FSC_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
  set(FSC_FUZZ_NAMES "")
  foreach(f ${FSC_FUZZ_TARGETS})
    get_filename_component(name ${f} NAME_WE)
    add_executable(${name} ${f})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/fuzz)
    target_link_libraries(${name} PRIVATE flipscope)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    list(APPEND FSC_FUZZ_NAMES ${name})
  endforeach()
  add_executable(fuzz_seedgen ${CMAKE_SOURCE_DIR}/fuzz/seedgen.c)
  target_include_directories(fuzz_seedgen PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/fuzz)
  target_link_libraries(fuzz_seedgen PRIVATE flipscope)
  add_custom_target(fuzz_all DEPENDS ${FSC_FUZZ_NAMES} fuzz_seedgen)
endif()
