# onnx.cmake: ONNX reader/writer support. Generates C from proto/onnx_subset.proto
# with protoc-c at build time (into the build dir; never committed) and links
# the protobuf-c runtime found through pkg-config.
find_program(FSC_PROTOC_C protoc-c REQUIRED)
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)

set(FSC_ONNX_PROTO ${CMAKE_SOURCE_DIR}/proto/onnx_subset.proto)
set(FSC_ONNX_GEN_DIR ${CMAKE_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${FSC_ONNX_GEN_DIR})
add_custom_command(
  OUTPUT ${FSC_ONNX_GEN_DIR}/onnx_subset.pb-c.c ${FSC_ONNX_GEN_DIR}/onnx_subset.pb-c.h
  COMMAND ${FSC_PROTOC_C} --proto_path=${CMAKE_SOURCE_DIR}/proto --c_out=${FSC_ONNX_GEN_DIR}
          ${FSC_ONNX_PROTO}
  DEPENDS ${FSC_ONNX_PROTO}
  COMMENT "protoc-c onnx_subset.proto"
  VERBATIM)
set_source_files_properties(${FSC_ONNX_GEN_DIR}/onnx_subset.pb-c.c PROPERTIES GENERATED TRUE)

list(APPEND FSC_EXTRA_SOURCES ${FSC_ONNX_GEN_DIR}/onnx_subset.pb-c.c)
list(APPEND FSC_EXTRA_INCLUDES ${FSC_ONNX_GEN_DIR})
list(APPEND FSC_EXTRA_LIBS PkgConfig::PROTOBUF_C)
