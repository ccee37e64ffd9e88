"""Headless renders of FreeCAD shapes: a numpy rasteriser over FreeCAD's own tessellation.

Why not Coin's SoOffscreenRenderer or VTK: both need an OpenGL context (a display, OSMesa or EGL) that
the CLI, batch jobs and the forked tool children do not have everywhere, and GL drivers make pixels
differ from machine to machine. Rasterising the kernel's triangles in numpy needs no display, gives the
same bytes for the same input, and yields for free the id map (each pixel's face ref) that synth needs.
In the GUI the live 3D view is drawn the same way, through its camera (live_view.py), not grabbed from
the screen: the picture keeps its labels, id map and determinism, and the call still runs apart.
"""
