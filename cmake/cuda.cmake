# cuda.cmake: the `cuda` backend (cuBLAS, cuDNN and our own elementwise
# kernels). Enabled when CMake finds nvcc and a CUDA toolkit with cuBLAS and
# cuDNN; otherwise src/backends/cuda*.c compile to a provider that lists the
# cuda:* configurations as unavailable ("built without CUDA").
#
# -DFSC_CUDA=OFF forces the toolkit-less build. CMAKE_CUDA_ARCHITECTURES
# defaults to "90-real;90-virtual" below: Hopper SASS plus PTX that newer GPUs
# JIT-compile, which keeps the .cu compile to one device pass.
option(FSC_CUDA "Build the cuda backend when the CUDA toolkit, cuBLAS and cuDNN are found" ON)

set(FSC_CUDA_ENABLED OFF)
if(FSC_CUDA)
  # The usual install location when nvcc is not on PATH; through CUDACXX so
  # that check_language still test-compiles it (a broken nvcc disables the
  # backend instead of failing the configure).
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit QUIET)
    find_path(FSC_CUDNN_INCLUDE cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/include)
    find_library(FSC_CUDNN_LIB cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/lib/x86_64-linux-gnu)
    if(CUDAToolkit_FOUND AND TARGET CUDA::cublas AND FSC_CUDNN_INCLUDE AND FSC_CUDNN_LIB)
      set(FSC_CUDA_ENABLED ON)
    else()
      message(STATUS "flipscope: CUDA toolkit without cuBLAS/cuDNN: cuda backend not built")
    endif()
  else()
    message(STATUS "flipscope: nvcc not found: cuda backend not built")
  endif()
endif()

if(FSC_CUDA_ENABLED)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "90-real;90-virtual")
  endif()
  enable_language(CUDA)
  message(STATUS "flipscope: cuda backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES}, cuDNN ${FSC_CUDNN_LIB})")
  # The device kernels live in their own library so that the C-only options of
  # the top-level add_compile_options (-Wall, -ffp-contract=off) do not reach
  # nvcc; --fmad=false is their CUDA counterpart (no a*b+c fused behind our back).
  add_library(fsc_cuda_kernels STATIC ${CMAKE_SOURCE_DIR}/src/backends/cuda_kernels.cu)
  set(FSC_NVCC_HOST_WARN -Xcompiler=-Wall,-Wextra)
  if(FSC_WERROR)
    list(APPEND FSC_NVCC_HOST_WARN -Xcompiler=-Werror)
  endif()
  set_property(TARGET fsc_cuda_kernels PROPERTY COMPILE_OPTIONS
               "$<$<COMPILE_LANGUAGE:CUDA>:--fmad=false;${FSC_NVCC_HOST_WARN}>")
  set_property(TARGET fsc_cuda_kernels PROPERTY POSITION_INDEPENDENT_CODE ON)
  target_include_directories(fsc_cuda_kernels PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(fsc_cuda_kernels PUBLIC CUDA::cudart)
  # cuBLAS is not linked: src/backends/cublas_lazy.c loads it on first use
  # (linking it costs every process about 215 MB of resident memory).
  get_target_property(FSC_CUBLAS_PATH CUDA::cublas IMPORTED_LOCATION)
  if(NOT FSC_CUBLAS_PATH)
    set(FSC_CUBLAS_PATH libcublas.so)
  endif()
  list(APPEND FSC_EXTRA_LIBS fsc_cuda_kernels CUDA::cudart ${FSC_CUDNN_LIB} ${CMAKE_DL_LIBS})
  list(APPEND FSC_EXTRA_INCLUDES ${CUDAToolkit_INCLUDE_DIRS} ${FSC_CUDNN_INCLUDE})
  list(APPEND FSC_EXTRA_DEFS FSC_HAVE_CUDA=1)
  set_source_files_properties(${CMAKE_SOURCE_DIR}/src/backends/cublas_lazy.c PROPERTIES
                              COMPILE_DEFINITIONS "FSC_CUBLAS_PATH=\"${FSC_CUBLAS_PATH}\"")
else()
  message(STATUS "flipscope: cuda backend OFF (cuda:* listed as unavailable)")
endif()
