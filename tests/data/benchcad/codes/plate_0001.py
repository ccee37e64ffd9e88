import cadquery as cq

# A 40 x 30 x 6 plate with four 4 mm holes on a 30 x 20 rectangle.
result = (cq.Workplane("XY").box(40, 30, 6)
          .faces(">Z").workplane().rect(30, 20, forConstruction=True).vertices().hole(4))
