package overlay_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/overlay"
	"sbx/fs/tmpfs"
	"sbx/fs/vfs"
)

// The VFS moves the dentry it cached for a renamed file, with the overlay
// node in it, while the overlay copies up the node it looked the name up
// with; the moved node must use that copy rather than copy the lower file
// up again at the old name (where a whiteout now is).
func TestWriteAfterRenameOfLowerFile(t *testing.T) {
	e := newEnv(t)
	require.Equal(t, "lower-g", e.ov.read("/d/g")) // the VFS caches /d/g
	require.NoError(t, e.rename("/d/g", "/g2", 0))
	fd, err := e.ov.open("/g2", unix.O_RDWR)
	require.NoError(t, err)
	_, err = fd.Pwrite([][]byte{[]byte("X")}, 0)
	require.NoError(t, err)
	fd.DecRef()
	require.Equal(t, "Xower-g", e.ov.read("/g2"))
	require.Equal(t, "Xower-g", e.upper.read("/g2"))
	require.False(t, e.ov.exists("/d/g"))
	require.True(t, e.isWhiteout("/d/g"))
	e.lowerIntact()
}

// A directory moved onto a removed lower directory's name hides that
// directory's entries (it is made opaque), and removing it again leaves a
// whiteout.
func TestRenameDirOntoWhiteoutIsOpaque(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.unlink("/d/sub/h"))
	require.NoError(t, e.ov.v.RmdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/d/sub"))
	e.ov.mkdir("/nd")
	require.NoError(t, e.rename("/nd", "/d/sub", unix.RENAME_NOREPLACE))
	require.Empty(t, e.ov.list("/d/sub"))
	require.False(t, e.ov.exists("/d/sub/h"))
	require.NoError(t, e.ov.v.RmdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/d/sub"))
	require.False(t, e.ov.exists("/d/sub"))
	require.True(t, e.isWhiteout("/d/sub"))

	// The same replacing an opaque directory.
	require.NoError(t, e.unlink("/d/g"))
	require.NoError(t, e.ov.v.RmdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/d"))
	e.ov.mkdir("/d")
	e.ov.mkdir("/x")
	e.ov.write("/x/y", "y")
	require.NoError(t, e.rename("/x", "/d", 0))
	require.Equal(t, []string{"y"}, e.ov.list("/d"))
	require.False(t, e.ov.exists("/d/g"))
	require.False(t, e.isWhiteout("/x"), "no whiteout for an upper-only name")
	e.lowerIntact()
}

// getdents(2) reports the inode numbers stat(2) does.
func TestReaddirInoMatchesStat(t *testing.T) {
	e := newEnv(t)
	e.ov.write("/d/g", "x")
	e.ov.write("/new", "x")
	e.ov.mkdir("/d/sub/x")
	for _, dir := range []string{"/", "/d", "/d/sub"} {
		fd, err := e.ov.open(dir, unix.O_RDONLY)
		require.NoError(t, err)
		inos := map[string]uint64{}
		require.NoError(t, fd.ReadDir(func(d vfs.Dirent, _ int64) bool { inos[d.Name] = d.Ino; return true }))
		fd.DecRef()
		require.Equal(t, e.ov.mustLstat(dir).Ino, inos["."], dir)
		for name, ino := range inos {
			if name == "." || name == ".." {
				continue
			}
			p := dir + "/" + name
			if dir == "/" {
				p = "/" + name
			}
			require.Equal(t, e.ov.mustLstat(p).Ino, ino, p)
		}
	}
}

// Copying up one name of a lower file with several links makes it another
// file (overlayfs without index=on): it gets an inode number of its own.
func TestCopyUpOfLowerHardLink(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.lower.v.LinkAt(e.lower.ctx, e.lower.ctx.Cwd, "/f", false, e.lower.ctx.Cwd, "/f2"))
	require.Equal(t, e.ov.mustLstat("/f").Ino, e.ov.mustLstat("/f2").Ino)
	e.ov.write("/f", "changed")
	require.NotEqual(t, e.ov.mustLstat("/f").Ino, e.ov.mustLstat("/f2").Ino)
	require.Equal(t, "lower-f", e.ov.read("/f2"))
}

// Copy-up through the node the VFS cached keeps st_ino; renaming the copy
// and removing it leaves the old name hidden and no whiteout at the new.
func TestRenameCopiedUpFileThenUnlink(t *testing.T) {
	e := newEnv(t)
	st := e.ov.mustLstat("/d/sub/h")
	require.NoError(t, e.ov.inode("/d/sub/h").SetStat(vfs.SetStat{Mask: vfs.SetMode, Mode: 0o600}))
	require.Equal(t, st.Ino, e.ov.mustLstat("/d/sub/h").Ino)
	require.NoError(t, e.rename("/d/sub/h", "/h2", 0))
	require.Equal(t, st.Ino, e.ov.mustLstat("/h2").Ino)
	require.NoError(t, e.unlink("/h2"))
	require.False(t, e.isWhiteout("/h2"))
	require.False(t, e.ov.exists("/d/sub/h"))
	require.True(t, e.isWhiteout("/d/sub/h"))
	e.lowerIntact()
}

// The overlay's own xattrs can be neither seen nor changed through it.
func TestPrivateXattrs(t *testing.T) {
	e := newEnv(t)
	e.ov.write("/f", "changed") // has an origin xattr in the upper layer
	for _, x := range []string{"trusted.overlay.origin", "trusted.overlay.opaque"} {
		_, err := e.ov.inode("/f").Getxattr(x)
		require.ErrorIs(t, err, unix.ENODATA, x)
		require.ErrorIs(t, e.ov.inode("/f").Setxattr(x, []byte("y"), 0), unix.EPERM, x)
		require.ErrorIs(t, e.ov.inode("/f").Removexattr(x), unix.EPERM, x)
	}
	names, err := e.ov.inode("/f").Listxattr()
	require.NoError(t, err)
	require.Empty(t, names)
}

// RENAME_NOREPLACE still fails on a name that exists, in either layer, and
// copies nothing up.
func TestRenameNoReplaceOntoRealEntry(t *testing.T) {
	e := newEnv(t)
	require.ErrorIs(t, e.rename("/d/g", "/f", unix.RENAME_NOREPLACE), unix.EEXIST)
	require.ErrorIs(t, e.ov.inode("/d").Rename("g", e.ov.inode("/"), "f", unix.RENAME_NOREPLACE), unix.EEXIST)
	require.False(t, e.upper.exists("/d"), "nothing was copied up")
	e.ov.write("/n", "n")
	require.ErrorIs(t, e.ov.inode("/d").Rename("g", e.ov.inode("/"), "n", unix.RENAME_NOREPLACE), unix.EEXIST)
	require.Equal(t, "lower-g", e.ov.read("/d/g"))
	require.False(t, e.upper.exists("/d"), "nothing was copied up")
}

// lookupCounter is a lower root that counts the lookups made in it.
type lookupCounter struct {
	vfs.Inode
	names []string
}

func (c *lookupCounter) Lookup(name string) (vfs.Inode, error) {
	c.names = append(c.names, name)
	return c.Inode.Lookup(name)
}

// TestCoverHidesLowerWithoutLookingItUp: a mount point covered in the
// upper layer is an empty directory whatever the lower layer has there,
// is listed once, and reaching it never asks the lower layer.
func TestCoverHidesLowerWithoutLookingItUp(t *testing.T) {
	mf := newMemFile()
	_, lroot := tmpfs.New(mf, 0o755, vfs.Owner{})
	_, uroot := tmpfs.New(mf, 0o755, vfs.Owner{})
	lower := newView(t, lroot, "tmpfs")
	lower.mkdir("/d")
	lower.write("/d/g", "lower-g")
	require.NoError(t, overlay.Cover(uroot.Inode(), "d", 0o755))
	require.NoError(t, overlay.Cover(uroot.Inode(), "new", 0o700))
	counted := &lookupCounter{Inode: lroot.Inode()}
	ov := newView(t, overlay.New(uroot.Inode(), counted), "overlay")
	require.Empty(t, ov.list("/d"))
	st := ov.mustLstat("/new")
	require.True(t, st.IsDir())
	require.EqualValues(t, 0o700, st.Mode&0o7777)
	require.Empty(t, counted.names)
	require.Equal(t, []string{"d", "new"}, ov.list("/"))
	require.Equal(t, "lower-g", lower.read("/d/g"))
}
