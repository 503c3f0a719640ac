module example.invalid/vgpu

go 1.19
