"""`stylegan serve`: a latent-space explorer in the browser (optional extra: pip install "stylegan[serve]").

renderer.py turns a RenderRequest into an image (no web dependencies); app.py holds the HTTP routes; static/index.html
is the page (no build step).
"""
