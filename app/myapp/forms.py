from django import forms

from myapp.models import Note, Upload


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ("text",)


class UploadForm(forms.ModelForm):
    class Meta:
        model = Upload
        fields = ("file",)


class DigestForm(forms.Form):
    pause = forms.FloatField(required=False, min_value=0, max_value=120)
